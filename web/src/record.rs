//! Clips of the view (contract, docs/EMBEDDING.md): `record({steps | seconds, fps, every,
//! format})` and the record button. Frames are the view as drawn (the picture of
//! [`crate::picture`] without colour bar or caption), painted into a canvas off the page that
//! a `MediaRecorder` films as WebM; where the browser records no WebM (or GIF is asked for)
//! they are encoded as an animated GIF here instead.
//!
//! `steps`: the simulation advances `every` steps per frame, paused otherwise, frames held
//! 1/fps apart so that the clip plays at that rate. `seconds`: the page plays as it would and
//! is filmed at fps. One recording at a time; `stopRecording()` (or the button) ends it early
//! with what it has.

use crate::command::{ClipFormat, ClipLength, RecordOptions};
use crate::engine::{self, Signals};
use crate::picture;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, CanvasRenderingContext2d, HtmlCanvasElement, MediaRecorder};

/// The largest side of a WebM clip's frames; of a GIF's (each of its frames is quantised here).
const MAX_WEBM_SIDE: f64 = 1920.0;
const MAX_GIF_SIDE: f64 = 640.0;
const WEBM_TYPES: [&str; 3] = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"];

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static STOP: Cell<bool> = const { Cell::new(false) };
}

/// Ends the recording under way (if any) after its current frame.
pub fn stop() {
    STOP.with(|s| s.set(true));
}

/// The WebM type this browser records, if any.
fn webm_type() -> Option<&'static str> {
    WEBM_TYPES.into_iter().find(|t| MediaRecorder::is_type_supported(t))
}

/// Where frames go.
enum Sink {
    Webm {
        recorder: MediaRecorder,
        track: web_sys::CanvasCaptureMediaStreamTrack,
        chunks: Rc<RefCell<Vec<Blob>>>,
        mime: &'static str,
        _on_data: Closure<dyn FnMut(web_sys::BlobEvent)>,
    },
    Gif {
        encoder: gif::Encoder<Vec<u8>>,
        delay: u16,
    },
}

impl Sink {
    async fn new(canvas: &HtmlCanvasElement, options: &RecordOptions) -> Result<Self, String> {
        let webm = match options.format {
            ClipFormat::Gif => None,
            ClipFormat::Webm => {
                Some(webm_type().ok_or("this browser records no WebM; ask for format: \"gif\"")?)
            }
            ClipFormat::Auto => webm_type(),
        };
        let Some(mime) = webm else {
            let (w, h) = (canvas.width() as u16, canvas.height() as u16);
            let mut encoder =
                gif::Encoder::new(Vec::new(), w, h, &[]).map_err(|e| format!("GIF: {e}"))?;
            encoder.set_repeat(gif::Repeat::Infinite).map_err(|e| format!("GIF: {e}"))?;
            let delay = (100.0 / options.fps).round().max(1.0) as u16;
            return Ok(Sink::Gif { encoder, delay });
        };
        // Frame rate 0: a frame is taken only when asked for (after each is drawn).
        let stream = canvas
            .capture_stream_with_frame_request_rate(0.0)
            .map_err(|e| format!("the canvas cannot be filmed: {e:?}"))?;
        let track = stream
            .get_video_tracks()
            .get(0)
            .dyn_into::<web_sys::CanvasCaptureMediaStreamTrack>()
            .map_err(|_| "the canvas stream has no video track".to_string())?;
        let recorder_options = web_sys::MediaRecorderOptions::new();
        recorder_options.set_mime_type(mime);
        recorder_options.set_video_bits_per_second(8_000_000);
        let recorder = MediaRecorder::new_with_media_stream_and_media_recorder_options(
            &stream,
            &recorder_options,
        )
        .map_err(|e| format!("the browser cannot record: {e:?}"))?;
        let chunks = Rc::new(RefCell::new(Vec::new()));
        let sink = chunks.clone();
        let on_data =
            Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |event: web_sys::BlobEvent| {
                if let Some(blob) = event.data() {
                    sink.borrow_mut().push(blob);
                }
            });
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        // The recorder starts once it has a frame (the canvas as painted before), and frames
        // asked for before it has started are lost.
        let started = once(|callback| recorder.set_onstart(callback));
        recorder.start().map_err(|e| format!("the recording cannot start: {e:?}"))?;
        track.request_frame();
        started.await;
        recorder.set_onstart(None);
        Ok(Sink::Webm { recorder, track, chunks, mime, _on_data: on_data })
    }

    /// Takes the canvas's current picture as the next frame.
    fn frame(
        &mut self,
        canvas: &HtmlCanvasElement,
        cx: &CanvasRenderingContext2d,
    ) -> Result<(), String> {
        match self {
            Sink::Webm { track, .. } => {
                track.request_frame();
                Ok(())
            }
            Sink::Gif { encoder, delay } => {
                let (w, h) = (canvas.width(), canvas.height());
                let image = cx
                    .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
                    .map_err(|e| format!("the frame cannot be read: {e:?}"))?;
                let mut rgba = image.data().0;
                let mut frame = gif::Frame::from_rgba_speed(w as u16, h as u16, &mut rgba, 10);
                frame.delay = *delay;
                encoder.write_frame(&frame).map_err(|e| format!("GIF: {e}"))
            }
        }
    }

    async fn finish(self) -> Result<Blob, String> {
        let (parts, mime) = match self {
            Sink::Webm { recorder, chunks, mime, _on_data, .. } => {
                let stopped = once(|callback| recorder.set_onstop(callback));
                recorder.stop().map_err(|e| format!("the recording cannot stop: {e:?}"))?;
                stopped.await;
                recorder.set_onstop(None);
                let parts: js_sys::Array = chunks.borrow().iter().collect();
                (parts, mime.split(';').next().unwrap_or("video/webm"))
            }
            Sink::Gif { encoder, .. } => {
                let bytes = encoder.into_inner().map_err(|e| format!("GIF: {e}"))?;
                (js_sys::Array::of1(&js_sys::Uint8Array::from(&bytes[..])), "image/gif")
            }
        };
        let options = BlobPropertyBag::new();
        options.set_type(mime);
        Blob::new_with_blob_sequence_and_options(&parts, &options)
            .map_err(|e| format!("the clip cannot be made: {e:?}"))
    }
}

/// Resolves when the event handler that `install` sets (with the callback given) first fires.
fn once(install: impl FnOnce(Option<&js_sys::Function>)) -> impl std::future::Future<Output = ()> {
    let (sender, receiver) = futures_channel::oneshot::channel::<()>();
    let sender = Cell::new(Some(sender));
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(sender) = sender.take() {
            let _ = sender.send(());
        }
    });
    install(Some(callback.as_ref().unchecked_ref()));
    async move {
        let _ = receiver.await;
        drop(callback);
    }
}

/// Clears the recording flags however the recording ends.
struct Active(Signals);

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(false));
        self.0.recording.set(None);
    }
}

/// Paints the current view into the clip's canvas.
fn paint(
    signals: Signals,
    canvas: &HtmlCanvasElement,
    cx: &CanvasRenderingContext2d,
) -> Result<(), String> {
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    engine::with_engine(|e| {
        let source = e.drawn_canvas()?;
        let (_, _, u) = picture::view_size(e, None, w.max(h));
        picture::draw_view(signals, &source, cx, (0.0, 0.0, w, h), u)
    })
    .unwrap_or(Err("no simulation is running".into()))
}

/// Records a clip; resolves with it as a Blob (WebM or GIF).
pub async fn record(signals: Signals, options: RecordOptions) -> Result<Blob, String> {
    if ACTIVE.with(|a| a.replace(true)) {
        return Err("a recording is already under way; stopRecording() ends it".into());
    }
    let _active = Active(signals);
    STOP.with(|s| s.set(false));
    let gif = options.format == ClipFormat::Gif
        || (options.format == ClipFormat::Auto && webm_type().is_none());
    let max_side = if gif { MAX_GIF_SIDE } else { MAX_WEBM_SIDE };
    let (width, height, _) = engine::with_engine(|e| picture::view_size(e, None, max_side))
        .ok_or("no simulation is running yet (await window.flowscope.ready)")?;
    let (canvas, cx) = picture::offscreen_canvas()?;
    // Video encoders want even sides.
    canvas.set_width((width as u32).div_ceil(2) * 2);
    canvas.set_height((height as u32).div_ceil(2) * 2);
    // The clip opens on the state as it is.
    paint(signals, &canvas, &cx)?;
    let mut sink = Sink::new(&canvas, &options).await?;
    if matches!(sink, Sink::Gif { .. }) {
        sink.frame(&canvas, &cx)?;
    }
    let frames = options.frames();
    let interval = 1000.0 / options.fps;
    let was_playing = signals.playing.get_untracked();
    signals.playing.set(matches!(options.length, ClipLength::Seconds(_)));
    signals.recording.set(Some(0.0));
    let started = crate::ui::now_ms();
    let mut outcome = Ok(());
    let mut taken = 0;
    for k in 0..frames {
        if STOP.with(Cell::get) || signals.error.get_untracked().is_some() {
            break;
        }
        if let ClipLength::Steps(steps) = options.length {
            let n = options.every.min(steps - k * options.every);
            engine::step_now(signals, n);
            engine::gpu_idle(engine::gpu()).await;
            engine::settled(signals).await;
        }
        // Each frame held 1/fps after the last: the recorder stamps frames by the clock.
        let due = started + f64::from(k + 1) * interval;
        let wait = due - crate::ui::now_ms();
        if wait > 0.0 {
            gloo_timers::future::TimeoutFuture::new(wait as u32).await;
        }
        outcome = paint(signals, &canvas, &cx).and_then(|()| sink.frame(&canvas, &cx));
        if outcome.is_err() {
            break;
        }
        taken = k + 1;
        signals.recording.set(Some(f64::from(taken) / f64::from(frames)));
        if matches!(sink, Sink::Gif { .. }) {
            engine::yield_to_page().await;
        }
    }
    // The last frame again one interval on: a video's length runs to its last frame's time.
    if outcome.is_ok() && taken > 0 && matches!(sink, Sink::Webm { .. }) {
        let wait = started + f64::from(taken + 1) * interval - crate::ui::now_ms();
        gloo_timers::future::TimeoutFuture::new(wait.max(interval) as u32).await;
        outcome = sink.frame(&canvas, &cx);
    }
    signals.playing.set(was_playing);
    let clip = sink.finish().await;
    outcome?;
    if let Some(error) = signals.error.get_untracked() {
        return Err(format!("the simulation stopped while recording: {error}"));
    }
    clip
}
