//! The commands of the JS and postMessage APIs as Rust values (contract: docs/EMBEDDING.md).
//! A message's `args` arrive as JSON values (decoded from JS by `serde-wasm-bindgen`), and are
//! checked here into a [`Command`], every bad shape answered with a message naming the call;
//! nothing here touches the page, so it runs (and is fuzzed) natively.

use serde_json::Value;

/// The most steps one `step(n)` call takes.
pub const MAX_STEPS: u32 = 100_000;

/// The commands a page script or an embedding page sends, by name.
pub const NAMES: &str =
    "load, set, play, pause, step, reset, state, observables, snapshot, record, stopRecording, compare, ready";

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `load(caseId, params)`: parameters as text, checked by the case's schema.
    Load {
        case: String,
        params: Vec<(String, String)>,
    },
    /// `set(name, value)`.
    Set {
        name: String,
        value: String,
    },
    Play,
    Pause,
    /// `step(n)`, 1 ≤ n ≤ [`MAX_STEPS`] (1 when not given).
    Step(u32),
    Reset,
    State,
    Ready,
    Observables,
    Snapshot(SnapshotOptions),
    Record(RecordOptions),
    StopRecording,
    /// `compare(name, [a, b], {difference})`; `compare(null)` ends compare mode.
    Compare(Option<CompareArgs>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompareArgs {
    pub name: String,
    pub values: Vec<String>,
    pub difference: bool,
}

/// How long a clip runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClipLength {
    /// This many simulation steps, a frame every [`RecordOptions::every`] steps.
    Steps(u32),
    /// This many seconds of the page as it plays.
    Seconds(f64),
}

/// The clip's file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClipFormat {
    /// WebM where the browser records it, else GIF.
    #[default]
    Auto,
    Webm,
    Gif,
}

/// `record({steps | seconds, fps, every, format})` (contract, docs/EMBEDDING.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordOptions {
    pub length: ClipLength,
    pub fps: f64,
    pub every: u32,
    pub format: ClipFormat,
}

/// The longest clip in steps and in seconds.
pub const MAX_CLIP_STEPS: u32 = 20_000;
pub const MAX_CLIP_SECONDS: f64 = 600.0;

impl RecordOptions {
    /// A clip of the playing page, `seconds` long at 30 frames per second.
    pub fn seconds(seconds: f64) -> Self {
        Self { length: ClipLength::Seconds(seconds), fps: 30.0, every: 1, format: ClipFormat::Auto }
    }

    fn decode(value: &Value) -> Result<Self, String> {
        let Value::Object(object) = value else {
            return Err(
                "record(options): options must be an object like {steps: 120} or {seconds: 5}"
                    .into(),
            );
        };
        let number = |key: &str, lo: f64, hi: f64| -> Result<Option<f64>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => value
                    .as_f64()
                    .filter(|v| (lo..=hi).contains(v))
                    .map(Some)
                    .ok_or(format!("record(options): {key} must be a number from {lo} to {hi}")),
            }
        };
        let whole = |key: &str, v: Option<f64>| match v {
            Some(v) if v.fract() != 0.0 => {
                Err(format!("record(options): {key} must be a whole number"))
            }
            v => Ok(v.map(|v| v as u32)),
        };
        if let Some(other) = object
            .keys()
            .find(|k| !["steps", "seconds", "fps", "every", "format"].contains(&k.as_str()))
        {
            let other: String = other.chars().take(40).collect();
            return Err(format!("record(options): unknown option '{other}'; known: steps, seconds, fps, every, format"));
        }
        let steps = whole("steps", number("steps", 1.0, f64::from(MAX_CLIP_STEPS))?)?;
        let seconds = number("seconds", 0.1, MAX_CLIP_SECONDS)?;
        let length = match (steps, seconds) {
            (Some(steps), None) => ClipLength::Steps(steps),
            (None, Some(seconds)) => ClipLength::Seconds(seconds),
            _ => return Err("record(options): give either steps or seconds".into()),
        };
        let format = match object.get("format") {
            None | Some(Value::Null) => ClipFormat::Auto,
            Some(Value::String(f)) if f == "webm" => ClipFormat::Webm,
            Some(Value::String(f)) if f == "gif" => ClipFormat::Gif,
            Some(_) => return Err("record(options): format must be \"webm\" or \"gif\"".into()),
        };
        Ok(Self {
            length,
            fps: number("fps", 1.0, 60.0)?.unwrap_or(30.0),
            every: whole("every", number("every", 1.0, 10_000.0)?)?.unwrap_or(1),
            format,
        })
    }

    /// The number of frames the clip holds.
    pub fn frames(&self) -> u32 {
        match self.length {
            ClipLength::Steps(steps) => steps.div_ceil(self.every),
            ClipLength::Seconds(seconds) => (seconds * self.fps).round().max(1.0) as u32,
        }
    }
}

/// `snapshot({scale, colorbar, labels})` (contract, docs/EMBEDDING.md).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SnapshotOptions {
    /// Picture pixels per CSS pixel of the viewport (default the screen's devicePixelRatio).
    pub scale: Option<f64>,
    /// The colour bar with its range beside the view.
    pub colorbar: bool,
    /// A caption: the case, its parameters, the view and the time.
    pub labels: bool,
}

/// The largest `scale` of a snapshot (the picture is capped at 4096 px anyway).
pub const MAX_SNAPSHOT_SCALE: f64 = 8.0;

impl SnapshotOptions {
    fn decode(value: &Value) -> Result<Self, String> {
        let object = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(object) => object,
            _ => return Err("snapshot(options): options must be an object like {scale: 2}".into()),
        };
        let mut options = Self::default();
        for (key, value) in object {
            let flag = || {
                value.as_bool().ok_or(format!("snapshot(options): '{key}' must be true or false"))
            };
            match key.as_str() {
                "scale" => {
                    let scale = value.as_f64().filter(|s| *s > 0.0 && *s <= MAX_SNAPSHOT_SCALE);
                    options.scale = Some(scale.ok_or(format!(
                        "snapshot(options): scale must be a number above 0 and at most {MAX_SNAPSHOT_SCALE}"
                    ))?);
                }
                "colorbar" => options.colorbar = flag()?,
                "labels" => options.labels = flag()?,
                other => {
                    let other: String = other.chars().take(40).collect();
                    return Err(format!(
                        "snapshot(options): unknown option '{other}'; known: scale, colorbar, labels"
                    ));
                }
            }
        }
        Ok(options)
    }
}

impl Command {
    /// The command `name` with `args` (missing ones are `null`).
    pub fn decode(name: &str, args: &[Value]) -> Result<Self, String> {
        let arg = |k: usize| args.get(k).unwrap_or(&Value::Null);
        Ok(match name {
            "load" => {
                let case = arg(0)
                    .as_str()
                    .ok_or("load(caseId, params): caseId must be a string")?
                    .to_string();
                let params = match arg(1) {
                    Value::Null => Vec::new(),
                    Value::Object(object) => object
                        .iter()
                        .map(|(name, value)| Ok((name.clone(), text(name, value)?)))
                        .collect::<Result<_, String>>()?,
                    _ => {
                        return Err(
                            "load(caseId, params): params must be an object like {n: 64}".into()
                        )
                    }
                };
                Command::Load { case, params }
            }
            "set" => {
                let name = arg(0).as_str().ok_or("set(name, value): name must be a string")?;
                Command::Set { name: name.to_string(), value: text(name, arg(1))? }
            }
            "play" => Command::Play,
            "pause" => Command::Pause,
            "step" => Command::Step(match arg(0) {
                Value::Null => 1,
                value => value
                    .as_f64()
                    .filter(|n| (1.0..=f64::from(MAX_STEPS)).contains(n) && n.fract() == 0.0)
                    .map(|n| n as u32)
                    .ok_or(format!(
                        "step(n): n must be a whole number between 1 and {MAX_STEPS}"
                    ))?,
            }),
            "reset" => Command::Reset,
            "state" => Command::State,
            "ready" => Command::Ready,
            "observables" => Command::Observables,
            "snapshot" => Command::Snapshot(SnapshotOptions::decode(arg(0))?),
            "record" => Command::Record(RecordOptions::decode(arg(0))?),
            "stopRecording" => Command::StopRecording,
            "compare" => Command::Compare(match arg(0) {
                Value::Null => None,
                Value::String(name) => {
                    let values = match arg(1) {
                        Value::Array(values) => values
                            .iter()
                            .map(|v| text(name, v))
                            .collect::<Result<Vec<_>, _>>()?,
                        _ => return Err("compare(name, values): values must be an array like [100, 1000]".into()),
                    };
                    let difference = match arg(2) {
                        Value::Null => false,
                        Value::Object(o) => match o.get("difference") {
                            None | Some(Value::Null) => false,
                            Some(Value::Bool(b)) => *b,
                            Some(_) => return Err("compare(name, values, options): difference must be true or false".into()),
                        },
                        _ => return Err("compare(name, values, options): options must be an object like {difference: true}".into()),
                    };
                    Some(CompareArgs { name: name.clone(), values, difference })
                }
                _ => return Err("compare(name, values): name must be a parameter's name (or null to end compare mode)".into()),
            }),
            other => {
                let other: String = other.chars().take(40).collect();
                return Err(format!("unknown command '{other}'; known: {NAMES}"));
            }
        })
    }
}

/// A parameter value given as a number or a string, as the text the schema parses.
fn text(name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(format!("parameter '{name}' must be a number or a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn the_api_calls_decode_to_commands() {
        let load = Command::decode("load", &[json!("heat"), json!({"n": 64, "initial": "blobs"})]);
        let params = vec![("initial".into(), "blobs".into()), ("n".into(), "64".into())];
        assert_eq!(load, Ok(Command::Load { case: "heat".into(), params }));
        assert_eq!(Command::decode("step", &[]), Ok(Command::Step(1)));
        assert_eq!(Command::decode("step", &[json!(30)]), Ok(Command::Step(30)));
        for bad in [json!(-3), json!(0.5), json!(100_001), json!("5")] {
            assert!(Command::decode("step", &[bad]).unwrap_err().contains("whole number"));
        }
        assert!(Command::decode("set", &[json!("n"), json!([1])]).unwrap_err().contains("'n'"));
        assert!(Command::decode("load", &[json!(3)]).unwrap_err().contains("caseId"));
        assert!(Command::decode("load", &[json!("heat"), json!(7)])
            .unwrap_err()
            .contains("object"));
        assert_eq!(
            Command::decode("snapshot", &[json!({"scale": 2, "colorbar": true})]),
            Ok(Command::Snapshot(SnapshotOptions {
                scale: Some(2.0),
                colorbar: true,
                labels: false
            }))
        );
        assert_eq!(Command::decode("snapshot", &[]), Ok(Command::Snapshot(Default::default())));
        for (bad, says) in [
            (json!({"scale": 0}), "scale"),
            (json!({"scale": 100}), "at most"),
            (json!({"colorbar": "yes"}), "true or false"),
            (json!({"dpi": 300}), "unknown option 'dpi'"),
            (json!(2), "object"),
        ] {
            assert!(Command::decode("snapshot", &[bad]).unwrap_err().contains(says), "{says}");
        }
        let clip = Command::decode("record", &[json!({"steps": 30, "fps": 24})]);
        let expected = RecordOptions {
            length: ClipLength::Steps(30),
            fps: 24.0,
            every: 1,
            format: ClipFormat::Auto,
        };
        assert_eq!(clip, Ok(Command::Record(expected)));
        let gif = RecordOptions::decode(&json!({"seconds": 2, "format": "gif"})).unwrap();
        assert_eq!((gif.format, gif.frames()), (ClipFormat::Gif, 60));
        for (bad, says) in [
            (json!({}), "either steps or seconds"),
            (json!({"steps": 3, "seconds": 1}), "either steps or seconds"),
            (json!({"steps": 2.5}), "whole number"),
            (json!({"steps": 0}), "from 1"),
            (json!({"seconds": 5, "fps": 500}), "fps"),
            (json!({"seconds": 5, "format": "mp4"}), "format"),
            (json!({"seconds": 5, "length": 3}), "unknown option 'length'"),
            (json!(null), "object"),
        ] {
            assert!(Command::decode("record", &[bad]).unwrap_err().contains(says), "{says}");
        }
        let compare = Command::decode("compare", &[json!("Re"), json!([100, "1000"])]);
        let args = CompareArgs {
            name: "Re".into(),
            values: vec!["100".into(), "1000".into()],
            difference: false,
        };
        assert_eq!(compare, Ok(Command::Compare(Some(args))));
        assert_eq!(Command::decode("compare", &[json!(null)]), Ok(Command::Compare(None)));
        assert!(Command::decode("compare", &[json!("Re"), json!(100)])
            .unwrap_err()
            .contains("array"));
        assert!(Command::decode("compare", &[json!(3)]).unwrap_err().contains("name"));
        let long = "x".repeat(10_000);
        assert!(Command::decode(&long, &[]).unwrap_err().len() < 200);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>()
                .prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
            any::<i64>().prop_map(|x| json!(x)),
            ".{0,16}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Fuzz target: the message dispatcher's decoding. Any command name with any JSON
        /// arguments decodes or is refused with a short message; a decoded step count is in
        /// range.
        #[test]
        fn fuzz_messages(
            name in prop_oneof![
                proptest::sample::select(NAMES.split(", ").collect::<Vec<_>>()).prop_map(str::to_string),
                ".{0,12}",
            ],
            args in proptest::collection::vec(json_value(), 0..4),
        ) {
            match Command::decode(&name, &args) {
                Ok(Command::Step(n)) => prop_assert!((1..=MAX_STEPS).contains(&n)),
                Ok(_) => {}
                Err(message) => prop_assert!(!message.is_empty() && message.len() < 400),
            }
        }
    }
}
