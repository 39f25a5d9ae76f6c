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

/** `webgpu: true` adds the flag that gives Chromium a (software, SwiftShader) WebGPU adapter. */
export async function launch({ webgpu }) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: webgpu ? [...BASE_FLAGS, '--enable-unsafe-webgpu'] : BASE_FLAGS,
  });
}
