// Debian's Chromium, headless, under playwright-core (never a downloaded browser).

import { chromium } from 'playwright-core';

const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * `webgpu: true` adds the flag that gives Chromium a (software, SwiftShader) WebGPU adapter;
 * `extra`: more switches (benchmark experiments).
 */
export async function launch({ webgpu, extra = [] }) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...extra],
  });
}
