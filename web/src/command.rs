//! The commands of the JS and postMessage APIs as Rust values (contract: docs/EMBEDDING.md).
//! A message's `args` arrive as JSON values (decoded from JS by `serde-wasm-bindgen`), and are
//! checked here into a [`Command`], every bad shape answered with a message naming the call;
//! nothing here touches the page, so it runs (and is fuzzed) natively.

use serde_json::Value;

/// The most steps one `step(n)` call takes.
pub const MAX_STEPS: u32 = 100_000;

/// The commands a page script or an embedding page sends, by name.
pub const NAMES: &str = "load, set, play, pause, step, reset, state, observables, snapshot, ready";

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
    Snapshot,
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
            "snapshot" => Command::Snapshot,
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
