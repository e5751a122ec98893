//! The camera's QR decoder, as a web worker of its own (`decoder_loader.js`, built by Trunk from
//! `index.html`). Only a till whose browser has no `BarcodeDetector` starts it, when its camera
//! opens, so the decoder's weight is neither in the till's first download nor on its main
//! thread while it looks at a frame.
//!
//! The conversation (see `components::camera`): the worker says `true` once it listens; the
//! till sends one `ImageData` frame at a time; the worker answers each with the code's cleaned
//! text, or `null` when the frame holds none.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use web_sys::{DedicatedWorkerGlobalScope, ImageData, MessageEvent};

fn main() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let answer = scope.clone();
    let on_frame = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let code = event.data().dyn_into::<ImageData>().ok().and_then(|frame| {
            kasse::state::camera::read_rgba(frame.width() as usize, frame.height() as usize, &frame.data())
        });
        // Nobody to tell if the till has gone: it terminates this worker when it closes.
        let _ = answer.post_message(&code.map_or(JsValue::NULL, |text| JsValue::from_str(&text)));
    });
    scope.set_onmessage(Some(on_frame.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_frame.forget();
    let _ = scope.post_message(&JsValue::TRUE);
}
