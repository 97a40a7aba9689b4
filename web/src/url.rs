//! The shareable state in the URL hash (contract):
//! `#case=lid-cavity&Re=400&n=64&view=vorticity&cmap=inferno&range=-5,5&arrows=1&spf=4&speed=0.5`
//! (`psize=1.5`: particle size in particle views; `compare=Re:100,1000`: compare mode, and
//! `diff=1` its difference view).
//! Every other key is a parameter of the case (its `seed` too). A link restores the exact state;
//! bad values are clamped or defaulted, each with a notice, and never stop the page.

use crate::engine::Signals;
use flowscope_core::params::{ParamError, ParamKind, ParamSpec};
use flowscope_core::{colormap, CaseSpec, ParamValue, ParamValues};
use leptos::prelude::*;

/// Keys that are not parameters.
const SETTINGS: &[&str] =
    &["case", "view", "cmap", "range", "arrows", "psize", "spf", "speed", "compare", "diff"];

/// Percent-decoding as `decodeURIComponent` does (`+` a space); bad escapes stay as written,
/// invalid UTF-8 becomes U+FFFD.
fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// The `key=value` pairs of a hash (`#` optional).
pub fn parse(hash: &str) -> Vec<(String, String)> {
    hash.trim_start_matches('#')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// A parameter from URL text: in range as given, else clamped or defaulted with a notice.
fn lenient(spec: &ParamSpec, text: &str) -> (ParamValue, Option<String>) {
    let error = match spec.parse(text) {
        Ok(value) => return (value, None),
        Err(error) => error,
    };
    let raw = match spec.kind {
        ParamKind::Float { .. } => text.trim().parse().ok().map(ParamValue::Float),
        ParamKind::Int { .. } => text.trim().parse().ok().map(ParamValue::Int),
        ParamKind::Enum { .. } => None,
    };
    let value = match (&error, raw) {
        (ParamError::OutOfRange { .. }, Some(raw)) => spec.clamp(&raw),
        _ => spec.default_value(),
    };
    (value.clone(), Some(format!("Link: {error}; using {value}")))
}

/// What a link asks for, checked against the catalog.
pub struct Restored {
    pub spec: &'static CaseSpec,
    pub params: ParamValues,
    pub view: Option<String>,
    pub colormap: Option<String>,
    pub range: Option<(f32, f32)>,
    pub arrows: Option<bool>,
    pub particle_size: Option<f64>,
    pub steps_per_frame: Option<u32>,
    pub speed: Option<f64>,
    pub compare: Option<crate::compare::Compare>,
    pub difference: bool,
    pub notices: Vec<String>,
}

/// Reads a hash; `None` when it names no case (an empty hash: the default page).
pub fn restore(hash: &str) -> Option<Restored> {
    let pairs = parse(hash);
    if pairs.is_empty() {
        return None;
    }
    let mut notices = Vec::new();
    let value = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let spec = match value("case").map(flowscope_cases::find) {
        Some(Ok(spec)) => spec,
        Some(Err(message)) => {
            notices.push(format!("Link: {message}; showing {}", flowscope_cases::CATALOG[0].id));
            flowscope_cases::CATALOG[0]
        }
        None => flowscope_cases::CATALOG[0],
    };
    let mut params = spec.defaults();
    for (key, text) in &pairs {
        if SETTINGS.contains(&key.as_str()) {
            continue;
        }
        match spec.param(key) {
            Some(param) => {
                let (value, notice) = lenient(param, text);
                notices.extend(notice);
                let _ = params.set(spec.id, spec.params, key, value);
            }
            None => notices.push(format!("Link: '{}' has no parameter '{key}'; ignored", spec.id)),
        }
    }
    let view = value("view").and_then(|name| {
        let known = spec.views.iter().any(|v| v.name == name);
        if !known {
            notices.push(format!(
                "Link: '{}' has no view '{name}'; showing {}",
                spec.id, spec.views[0].name
            ));
        }
        known.then(|| name.to_string())
    });
    let colormap = value("cmap").and_then(|name| {
        let known = colormap::NAMES.contains(&name);
        if !known {
            notices.push(format!("Link: unknown colormap '{name}'; using the view's own"));
        }
        known.then(|| name.to_string())
    });
    let range = value("range").and_then(|text| {
        let parsed = text.split_once(',').and_then(|(lo, hi)| {
            let (lo, hi) = (lo.trim().parse::<f32>().ok()?, hi.trim().parse::<f32>().ok()?);
            (lo.is_finite() && hi.is_finite() && lo < hi).then_some((lo, hi))
        });
        if parsed.is_none() && text != "auto" {
            notices.push(format!("Link: colour range '{text}' is not 'min,max'; using automatic"));
        }
        parsed
    });
    let arrows = value("arrows").map(|text| text == "1" || text == "true");
    let particle_size = value("psize").map(|text| match text.parse::<f64>() {
        Ok(s) if (0.5..=2.0).contains(&s) => s,
        _ => {
            notices.push(format!("Link: particle size '{text}' is not between 0.5 and 2; using 1"));
            1.0
        }
    });
    let steps_per_frame = value("spf").map(|text| match text.parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => n,
        _ => {
            notices.push(format!("Link: steps per frame '{text}' is not 1 to 1000; using 4"));
            4
        }
    });
    let speed = value("speed").map(|text| match text.parse::<f64>() {
        Ok(s) if (0.01..=1.0).contains(&s) => s,
        _ => {
            notices.push(format!("Link: speed '{text}' is not between 0.01 and 1; using 1"));
            1.0
        }
    });
    let compare =
        value("compare").and_then(|text| match crate::compare::Compare::from_hash(spec, text) {
            Ok(compare) => Some(compare),
            Err(message) => {
                notices.push(format!("Link: {message}; showing one side"));
                None
            }
        });
    let difference = value("diff").is_some_and(|text| text == "1" || text == "true");
    Some(Restored {
        spec,
        params,
        compare,
        difference,
        view,
        colormap,
        range,
        arrows,
        particle_size,
        steps_per_frame,
        speed,
        notices: capped(notices),
    })
}

/// Notices a link may raise before the rest are summed up in one line.
const MAX_NOTICES: usize = 8;
/// Characters of a notice shown (a link can carry a key of a megabyte).
const MAX_NOTICE_CHARS: usize = 200;

/// At most [`MAX_NOTICES`] notices of at most [`MAX_NOTICE_CHARS`] each, and a count of the rest.
fn capped(notices: Vec<String>) -> Vec<String> {
    let rest = notices.len().saturating_sub(MAX_NOTICES);
    let mut shown: Vec<String> = notices
        .into_iter()
        .take(MAX_NOTICES)
        .map(|n| match n.char_indices().nth(MAX_NOTICE_CHARS) {
            Some((cut, _)) => format!("{}…", &n[..cut]),
            None => n,
        })
        .collect();
    if rest > 0 {
        shown.push(format!("Link: {rest} more problems, not listed"));
    }
    shown
}

/// Puts what a link asked for into the signals (before the case starts or restarts).
pub fn apply(signals: Signals, restored: Restored) {
    signals.case_id.set(restored.spec.id.to_string());
    signals.params.set(restored.params);
    signals.view.set(restored.view.unwrap_or_else(|| restored.spec.views[0].name.to_string()));
    signals.colormap.set(restored.colormap.unwrap_or_default());
    signals.range.set(restored.range);
    if let Some(arrows) = restored.arrows {
        signals.arrows.set(arrows);
    }
    signals.particle_size.set(restored.particle_size.unwrap_or(1.0));
    if let Some(n) = restored.steps_per_frame {
        signals.steps_per_frame.set(n);
    }
    if let Some(speed) = restored.speed {
        signals.speed.set(speed);
    }
    signals.compare.set(restored.compare);
    signals.difference.set(restored.difference);
    signals.url_notices.set(restored.notices);
}

/// The hash for the current state (tracks the signals it reads).
pub fn hash(signals: Signals) -> String {
    let mut pairs = vec![("case".to_string(), signals.case_id.get())];
    for (name, value) in signals.params.get().iter() {
        pairs.push((name.to_string(), value.to_string()));
    }
    pairs.push(("view".into(), signals.view.get()));
    let colormap = signals.colormap.get();
    if !colormap.is_empty() {
        pairs.push(("cmap".into(), colormap));
    }
    if let Some((lo, hi)) = signals.range.get() {
        pairs.push(("range".into(), format!("{lo},{hi}")));
    }
    if signals.arrows.get() {
        pairs.push(("arrows".into(), "1".into()));
    }
    let particle_size = signals.particle_size.get();
    if particle_size != 1.0 {
        pairs.push(("psize".into(), particle_size.to_string()));
    }
    pairs.push(("spf".into(), signals.steps_per_frame.get().to_string()));
    let speed = signals.speed.get();
    if speed != 1.0 {
        pairs.push(("speed".into(), speed.to_string()));
    }
    if let Some(compare) = signals.compare.get() {
        pairs.push(("compare".into(), compare.to_hash()));
        if signals.difference.get() {
            pairs.push(("diff".into(), "1".into()));
        }
    }
    let body: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    format!("#{}", body.join("&"))
}

/// The page's link with the current state (for "copy link").
pub fn link(signals: Signals) -> String {
    let location = crate::ui::window().location();
    let base = format!(
        "{}{}{}",
        location.origin().unwrap_or_default(),
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    format!("{base}{}", hash(signals))
}

/// Keeps the address bar's hash equal to the state, without adding history entries.
pub fn keep_in_sync(signals: Signals) {
    Effect::new(move |_| {
        let hash = hash(signals);
        let window = crate::ui::window();
        if window.location().hash().ok().as_deref() != Some(hash.as_str()) {
            if let Ok(history) = window.history() {
                let _ =
                    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Keys a link uses, and some it should not.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("case".to_string()),
            Just("n".to_string()),
            Just("view".to_string()),
            Just("cmap".to_string()),
            Just("range".to_string()),
            Just("psize".to_string()),
            Just("spf".to_string()),
            Just("speed".to_string()),
            Just("Re".to_string()),
            Just("seed".to_string()),
            "[a-z%+=&#]{0,12}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(
                flowscope_cases::CATALOG.iter().map(|s| s.id).collect::<Vec<_>>()
            )
            .prop_map(str::to_string),
            "-?[0-9]{0,12}(\\.[0-9]{0,6})?(e-?[0-9]{1,3})?",
            "(NaN|inf|-inf|1e309|%FF%FE|%E2%82|%zz|,|-5,5|5,-5|nan,1)",
            ".{0,24}",
        ]
    }

    proptest! {
        /// Fuzz target: the URL hash parser. Whatever the link, the page gets a catalog case
        /// with valid parameters, a view it has, a finite positive setting or none, and a
        /// bounded list of short notices.
        #[test]
        fn fuzz_links(pairs in proptest::collection::vec((key(), value()), 0..24), junk in ".{0,40}") {
            let mut hash: String = pairs.iter().map(|(k, v)| format!("{k}={v}&")).collect();
            hash.push_str(&junk);
            let Some(restored) = restore(&hash) else { return Ok(()) };
            let spec = restored.spec;
            prop_assert!(spec.complete(&restored.params).is_ok());
            if let Some(view) = &restored.view {
                prop_assert!(spec.views.iter().any(|v| v.name == view));
            }
            if let Some((lo, hi)) = restored.range {
                prop_assert!(lo.is_finite() && hi.is_finite() && lo < hi);
            }
            for setting in [restored.particle_size, restored.speed].into_iter().flatten() {
                prop_assert!(setting.is_finite() && setting > 0.0);
            }
            prop_assert!(restored.notices.len() <= MAX_NOTICES + 1);
            prop_assert!(restored.notices.iter().all(|n| n.chars().count() <= MAX_NOTICE_CHARS + 1));
        }
    }

    #[test]
    fn a_link_raises_a_bounded_number_of_short_notices() {
        let many: Vec<String> = (0..1000).map(|k| format!("Link: bad key {k}")).collect();
        let shown = capped(many);
        assert_eq!(shown.len(), MAX_NOTICES + 1);
        assert_eq!(shown[MAX_NOTICES], "Link: 992 more problems, not listed");
        let long = capped(vec!["é".repeat(10_000)]);
        assert_eq!(long[0].chars().count(), MAX_NOTICE_CHARS + 1);
        assert_eq!(capped(vec!["one".into()]), ["one"]);
    }
}
