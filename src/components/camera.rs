//! The camera as a QR scanner, for tills without a keyboard-wedge scanner. The browser's own
//! `BarcodeDetector` reads the frames where it has one; elsewhere each frame is drawn to a
//! canvas and sent to our decoder (`state::camera`), which runs in a web worker of its own
//! (`src/bin/decoder.rs`) started only then: most tills never download it, and none waits for it
//! on the main thread. The camera stops as soon as a code is read or the scanner leaves the
//! screen.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream, MediaStreamTrack,
    MessageEvent, Worker,
};

use crate::components::locale::tr;
use crate::i18n::till as text;
use crate::state::{camera, scanner};

/// How often a frame is looked at: fast enough to feel instant, slow enough to leave the till
/// responsive on a modest terminal.
const FRAME_INTERVAL: Duration = Duration::from_millis(200);

/// The decoder worker's script. Trunk names a worker after its binary, without a content hash,
/// at the root of the till's bundle.
const DECODER: &str = "/decoder_loader.js";

/// `HAVE_CURRENT_DATA`: the video has a frame to look at.
const HAVE_CURRENT_DATA: u16 = 2;

/// What the camera is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Camera {
    Starting,
    Looking,
    Unavailable,
}

impl Camera {
    const fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Looking => "looking",
            Self::Unavailable => "unavailable",
        }
    }
}

/// How frames are read.
enum Reader {
    /// The browser's `BarcodeDetector`, asked for QR codes only.
    Detector(JsValue),
    /// Our decoder in its worker, sent the pixels drawn to this canvas. The closure answers the
    /// worker's messages and lives as long as it.
    Decoder {
        worker: Worker,
        canvas: HtmlCanvasElement,
        context: CanvasRenderingContext2d,
        _answers: Closure<dyn Fn(MessageEvent)>,
    },
}

/// Shows the camera's picture and calls `on_code` once with the first QR code it reads.
#[component]
pub fn CameraScanner(
    /// Called with the first code read.
    on_code: Callback<String>,
) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let state = RwSignal::new(Camera::Starting);
    let stream = StoredValue::new_local(None::<MediaStream>);
    let reader = StoredValue::new_local(None::<Reader>);
    // A read is under way (both readers answer asynchronously; the decoder's worker is busy
    // starting until it says it listens), or a code was already read.
    let busy = StoredValue::new(false);
    let done = StoredValue::new(false);

    let found = move |code: String| {
        if done.try_get_value() != Some(false) {
            return;
        }
        done.set_value(true);
        stream.with_value(|s| s.as_ref().map(stop));
        on_code.run(code);
    };
    // A reader's answer to the frame it was given.
    let answer = move |code: Option<String>| {
        // `try_set_value` hands the value back when the scanner has gone.
        if busy.try_set_value(false).is_some() {
            return;
        }
        if let Some(code) = code {
            found(code);
        }
    };

    Effect::new(move |started: Option<()>| {
        let Some(element) = video.get() else { return };
        if started.is_some() {
            return;
        }
        let element: HtmlVideoElement = element;
        spawn_local(async move {
            match open(&element).await {
                Ok(opened) => {
                    // The scanner may have left the screen while the camera was starting.
                    if stream.try_update_value(|s| *s = Some(opened.clone())).is_none() {
                        stop(&opened);
                        return;
                    }
                    if let Some(chosen) = choose_reader(busy, answer) {
                        reader.set_value(Some(chosen));
                        state.set(Camera::Looking);
                    } else {
                        // A picture nothing can read is no use: say so, and turn it off.
                        stop(&opened);
                        state.set(Camera::Unavailable);
                    }
                }
                Err(_) => {
                    let _ = state.try_set(Camera::Unavailable);
                }
            }
        });
    });

    let tick = move || {
        if state.get_untracked() != Camera::Looking || busy.get_value() || done.get_value() {
            return;
        }
        let Some(element) = video.get_untracked() else { return };
        let element: HtmlVideoElement = element;
        if element.ready_state() < HAVE_CURRENT_DATA {
            return;
        }
        reader.with_value(|reader| match reader {
            Some(Reader::Detector(detector)) => {
                let Ok(promise) = detect(detector, &element) else { return };
                busy.set_value(true);
                spawn_local(async move {
                    answer(JsFuture::from(promise).await.ok().and_then(first_code));
                });
            }
            Some(Reader::Decoder { worker, canvas, context, .. })
                if send_frame(&element, worker, canvas, context).is_some() =>
            {
                busy.set_value(true);
            }
            _ => {}
        });
    };
    if let Ok(ticker) = set_interval_with_handle(tick, FRAME_INTERVAL) {
        on_cleanup(move || ticker.clear());
    }
    on_cleanup(move || {
        stream.with_value(|s| s.as_ref().map(stop));
        // Before its answering closure goes with the reader.
        reader.with_value(|reader| {
            if let Some(Reader::Decoder { worker, .. }) = reader {
                worker.terminate();
            }
        });
    });

    view! {
        <div class="camera" data-state=move || state.get().name()>
            <Show
                when=move || state.get() != Camera::Unavailable
                fallback=move || view! { <p class="notice" role="alert">{tr(text::camera_unavailable)}</p> }
            >
                <p>{tr(text::camera_prompt)}</p>
            </Show>
            <video
                id="camera"
                node_ref=video
                aria-label=tr(text::camera_view)
                autoplay
                muted
                playsinline
            ></video>
        </div>
    }
}

/// Asks for the back camera (the front one on a laptop) and plays it in `video`.
async fn open(video: &HtmlVideoElement) -> Result<MediaStream, JsValue> {
    let devices = web_sys::window().ok_or(JsValue::NULL)?.navigator().media_devices()?;
    let wanted = serde_wasm_bindgen::to_value(&VideoWanted { facing_mode: "environment" })?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_video(&wanted);
    constraints.set_audio(&JsValue::FALSE);
    let stream: MediaStream =
        JsFuture::from(devices.get_user_media_with_constraints(&constraints)?).await?.dyn_into()?;
    video.set_muted(true);
    video.set_src_object(Some(&stream));
    // Autoplay starts it too; a refused play() only means it already plays.
    if let Ok(playing) = video.play() {
        let _ = JsFuture::from(playing).await;
    }
    Ok(stream)
}

/// Turns the camera off (its light too).
fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// The browser's `BarcodeDetector` for QR codes where there is one, else our decoder's worker,
/// started now, with a canvas to draw frames on. The worker's answers go to `answer`; `busy`
/// holds frames back until it listens.
fn choose_reader(busy: StoredValue<bool>, answer: impl Fn(Option<String>) + 'static) -> Option<Reader> {
    if let Some(detector) = barcode_detector() {
        return Some(Reader::Detector(detector));
    }
    let canvas = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())?;
    let context = canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok())?;
    let worker = Worker::new(DECODER).ok()?;
    busy.set_value(true);
    // `true` is the worker saying it listens; anything else answers a frame.
    let answers = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        answer(if data.is_truthy() { data.as_string().and_then(|text| scanner::clean(&text)) } else { None });
    });
    worker.set_onmessage(Some(answers.as_ref().unchecked_ref()));
    Some(Reader::Decoder { worker, canvas, context, _answers: answers })
}

/// The camera a till asks for (`getUserMedia`'s video constraints).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VideoWanted {
    /// `environment`: the back camera (a laptop's only one otherwise).
    facing_mode: &'static str,
}

/// What a `BarcodeDetector` is to look for.
#[derive(serde::Serialize)]
struct DetectorOptions {
    /// Only `qr_code`.
    formats: [&'static str; 1],
}

/// A code a `BarcodeDetector` found, as far as the till reads it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetectedBarcode {
    /// The code's text.
    raw_value: String,
}

/// `new BarcodeDetector({ formats: ["qr_code"] })`, where the browser has it and reads QR codes.
fn barcode_detector() -> Option<JsValue> {
    let window = web_sys::window()?;
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&window, &"BarcodeDetector".into()).ok()?.dyn_into().ok()?;
    let options = serde_wasm_bindgen::to_value(&DetectorOptions { formats: ["qr_code"] }).ok()?;
    // Throws where the platform cannot read QR codes (some desktops): then our decoder reads.
    js_sys::Reflect::construct(&constructor, &js_sys::Array::of1(&options)).ok()
}

/// `detector.detect(video)`: a promise of the codes in the current frame.
fn detect(detector: &JsValue, video: &HtmlVideoElement) -> Result<js_sys::Promise, JsValue> {
    let detect: js_sys::Function = js_sys::Reflect::get(detector, &"detect".into())?.dyn_into()?;
    detect.call1(detector, video)?.dyn_into()
}

/// The first detected code's text, cleaned like a scanner's.
fn first_code(codes: JsValue) -> Option<String> {
    let codes: Vec<DetectedBarcode> = serde_wasm_bindgen::from_value(codes).ok()?;
    codes.iter().find_map(|code| scanner::clean(&code.raw_value))
}

/// Draws the current frame, scaled down, and sends it to the decoder's worker; `None` when there
/// was no frame to send.
fn send_frame(
    video: &HtmlVideoElement,
    worker: &Worker,
    canvas: &HtmlCanvasElement,
    context: &CanvasRenderingContext2d,
) -> Option<()> {
    let (width, height) = camera::decode_size(video.video_width(), video.video_height());
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    let (w, h) = (f64::from(width), f64::from(height));
    context.draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, w, h).ok()?;
    let frame = context.get_image_data(0.0, 0.0, w, h).ok()?;
    worker.post_message(&frame).ok()
}
