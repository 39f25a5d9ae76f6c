//! The one WebGPU device of a worker, shared by Burn and the WGSL kernels: started once (Burn
//! acquires it and hands its handles over), its loss noticed here and reported by every engine
//! that would use it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use wasm_bindgen::JsValue;

use super::EngineError;

/// The wgpu version Burn's runtime accepts handles of.
pub use burn::tensor::wgpu::wgpu;

#[derive(Clone)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The same device as Burn sees it.
    pub burn: burn::prelude::Device,
    lost: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Starts WebGPU, or says in a sentence why it cannot be used here.
    pub async fn start() -> Result<Gpu, String> {
        let global = js_sys::global();
        let navigator = js_sys::Reflect::get(&global, &JsValue::from_str("navigator")).unwrap_or(JsValue::UNDEFINED);
        let has_gpu = js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu"))
            .is_ok_and(|g| !g.is_undefined() && !g.is_null());
        if !has_gpu {
            return Err(super::NO_WEBGPU.into());
        }
        let (burn, setup) = burn::prelude::Device::wgpu_options().init_with_setup_async().await.map_err(|e| {
            let text = e.to_string();
            if text.to_lowercase().contains("adapter") {
                super::NO_ADAPTER.to_string()
            } else {
                format!("WebGPU could not start: {text}")
            }
        })?;
        let lost = Arc::new(Mutex::new(None));
        let flag = lost.clone();
        setup.device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut l) = flag.lock() {
                *l = Some(format!("{reason:?}: {message}"));
            }
        });
        Ok(Gpu { device: setup.device, queue: setup.queue, burn, lost })
    }

    /// Fails once the device is lost.
    pub fn check(&self) -> Result<(), EngineError> {
        match self.lost.lock().ok().and_then(|l| l.clone()) {
            Some(why) => Err(EngineError::DeviceLost(why)),
            None => Ok(()),
        }
    }

    /// Maps a buffer, reads it as words and unmaps it.
    pub async fn read(&self, buffer: &wgpu::Buffer) -> Result<Vec<u32>, EngineError> {
        let fail = |message: String| EngineError::Gpu { what: "read-back", message };
        let outcome = Rc::new(RefCell::new(None));
        let done = js_sys::Promise::new(&mut |resolve, _reject| {
            let signal = OneThread((outcome.clone(), resolve));
            buffer.map_async(wgpu::MapMode::Read, .., move |r| {
                let whole = signal; // the whole wrapper is captured, not its fields
                let OneThread((outcome, resolve)) = whole;
                *outcome.borrow_mut() = Some(r);
                let _ = resolve.call0(&JsValue::NULL);
            });
        });
        wasm_bindgen_futures::JsFuture::from(done).await.map_err(|e| fail(format!("{e:?}")))?;
        self.check()?;
        outcome.borrow_mut().take().ok_or_else(|| fail("no answer".into()))?.map_err(|e| fail(e.to_string()))?;
        let words = {
            let view = buffer.get_mapped_range(..).map_err(|e| fail(e.to_string()))?;
            view.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        buffer.unmap();
        Ok(words)
    }
}

/// Burn builds wgpu with `fragile-send-sync-non-atomic-wasm`, so callbacks must be `Send`;
/// wasm without atomics has one thread, and this carries the page's handles across that bound.
struct OneThread<T>(T);
// SAFETY: this module is compiled for wasm without threads only; nothing ever crosses a thread.
unsafe impl<T> Send for OneThread<T> {}

pub fn bytes_u32(v: &[u32]) -> &[u8] {
    // SAFETY: u32 has no padding and any byte pattern is a valid u8.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

pub fn bytes_f32(v: &[f32]) -> &[u8] {
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}
