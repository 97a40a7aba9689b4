//! Parameter schema: what a case accepts, with ranges, units and defaults.
//!
//! The UI builds its panel from [`ParamSpec`], the CLI validates `--set name=value` with it,
//! and URL parsing clamps to it. Validation errors name the allowed range in one line.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The type and range of one parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// A real number in `[min, max]`; `log` asks the UI for a logarithmic slider.
    Float { min: f64, max: f64, default: f64, log: bool },
    /// A whole number in `[min, max]`.
    Int { min: i64, max: i64, default: i64 },
    /// One of a fixed list of names.
    Enum { options: &'static [&'static str], default: &'static str },
}

/// One declared parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub help: &'static str,
    #[serde(flatten)]
    pub kind: ParamKind,
    /// `true`: changing it rebuilds the simulation (grid size, scheme);
    /// `false`: it applies on the next step.
    pub needs_reset: bool,
}

/// A parameter value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Float(f64),
    Int(i64),
    Enum(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Enum(v) => write!(f, "{v}"),
        }
    }
}

/// Why a parameter value was refused. `Display` is a single line naming the allowed values.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("unknown parameter '{name}' for case '{case}'; known parameters: {known}")]
    Unknown { case: String, name: String, known: String },
    #[error("parameter '{name}' = '{value}' is not {expected}")]
    Parse { name: String, value: String, expected: String },
    #[error("parameter '{name}' = {value} is out of range; allowed: {allowed}")]
    OutOfRange { name: String, value: String, allowed: String },
}

impl ParamSpec {
    pub fn default_value(&self) -> ParamValue {
        match &self.kind {
            ParamKind::Float { default, .. } => ParamValue::Float(*default),
            ParamKind::Int { default, .. } => ParamValue::Int(*default),
            ParamKind::Enum { default, .. } => ParamValue::Enum((*default).to_string()),
        }
    }

    /// The allowed values, as shown in error messages.
    pub fn allowed(&self) -> String {
        match &self.kind {
            ParamKind::Float { min, max, .. } => format!("{min} ..= {max}"),
            ParamKind::Int { min, max, .. } => format!("integers {min} ..= {max}"),
            ParamKind::Enum { options, .. } => format!("one of {}", options.join(", ")),
        }
    }

    /// Parses text (CLI flag, URL) into a value, refusing anything outside the range.
    pub fn parse(&self, text: &str) -> Result<ParamValue, ParamError> {
        let text = text.trim();
        let parse_err = |expected: &str| ParamError::Parse {
            name: self.name.into(),
            value: text.into(),
            expected: expected.into(),
        };
        let value = match &self.kind {
            ParamKind::Float { .. } => {
                let v: f64 = text.parse().map_err(|_| parse_err("a number"))?;
                ParamValue::Float(v)
            }
            ParamKind::Int { .. } => {
                let v: i64 = text.parse().map_err(|_| parse_err("a whole number"))?;
                ParamValue::Int(v)
            }
            ParamKind::Enum { .. } => ParamValue::Enum(text.to_string()),
        };
        self.check(&value)?;
        Ok(value)
    }

    /// Checks that a value has the right type and lies in range (NaN and infinities are refused).
    pub fn check(&self, value: &ParamValue) -> Result<(), ParamError> {
        let out_of_range = || ParamError::OutOfRange {
            name: self.name.into(),
            value: value.to_string(),
            allowed: self.allowed(),
        };
        match (&self.kind, value) {
            (ParamKind::Float { min, max, .. }, ParamValue::Float(v)) => {
                if v.is_finite() && *v >= *min && *v <= *max {
                    Ok(())
                } else {
                    Err(out_of_range())
                }
            }
            (ParamKind::Int { min, max, .. }, ParamValue::Int(v)) => {
                if v >= min && v <= max {
                    Ok(())
                } else {
                    Err(out_of_range())
                }
            }
            (ParamKind::Enum { options, .. }, ParamValue::Enum(v)) => {
                if options.contains(&v.as_str()) {
                    Ok(())
                } else {
                    Err(out_of_range())
                }
            }
            _ => Err(ParamError::Parse {
                name: self.name.into(),
                value: value.to_string(),
                expected: self.allowed(),
            }),
        }
    }

    /// Brings any value into range: the UI's rule for URL values, which are fixed up, not refused.
    pub fn clamp(&self, value: &ParamValue) -> ParamValue {
        match (&self.kind, value) {
            (ParamKind::Float { min, max, default, .. }, ParamValue::Float(v)) => {
                ParamValue::Float(if v.is_finite() { v.clamp(*min, *max) } else { *default })
            }
            (ParamKind::Int { min, max, .. }, ParamValue::Int(v)) => {
                ParamValue::Int((*v).clamp(*min, *max))
            }
            _ if self.check(value).is_ok() => value.clone(),
            _ => self.default_value(),
        }
    }
}

/// A complete, validated set of parameter values for one case.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ParamValues(BTreeMap<String, ParamValue>);

impl ParamValues {
    /// Every parameter at its default.
    pub fn defaults(specs: &[ParamSpec]) -> Self {
        Self(specs.iter().map(|s| (s.name.to_string(), s.default_value())).collect())
    }

    /// Sets one parameter from text, validating name and range.
    pub fn set_text(
        &mut self,
        case: &str,
        specs: &[ParamSpec],
        name: &str,
        text: &str,
    ) -> Result<(), ParamError> {
        let spec = find(case, specs, name)?;
        let value = spec.parse(text)?;
        self.0.insert(name.to_string(), value);
        Ok(())
    }

    /// Sets one parameter to a typed value, validating name and range.
    pub fn set(
        &mut self,
        case: &str,
        specs: &[ParamSpec],
        name: &str,
        value: ParamValue,
    ) -> Result<(), ParamError> {
        let spec = find(case, specs, name)?;
        spec.check(&value)?;
        self.0.insert(name.to_string(), value);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.get(name)
    }

    /// The float value of a declared float parameter.
    ///
    /// # Panics
    /// If `name` is not a declared float parameter: a programming error in the case, not user input.
    pub fn float(&self, name: &str) -> f64 {
        match self.0.get(name) {
            Some(ParamValue::Float(v)) => *v,
            other => panic!("parameter '{name}' is not a float: {other:?}"),
        }
    }

    /// The integer value of a declared integer parameter (panics like [`Self::float`]).
    pub fn int(&self, name: &str) -> i64 {
        match self.0.get(name) {
            Some(ParamValue::Int(v)) => *v,
            other => panic!("parameter '{name}' is not an integer: {other:?}"),
        }
    }

    /// The option name of a declared enum parameter (panics like [`Self::float`]).
    pub fn choice(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(ParamValue::Enum(v)) => v,
            other => panic!("parameter '{name}' is not an enum: {other:?}"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

fn find<'a>(case: &str, specs: &'a [ParamSpec], name: &str) -> Result<&'a ParamSpec, ParamError> {
    specs.iter().find(|s| s.name == name).ok_or_else(|| ParamError::Unknown {
        case: case.into(),
        name: name.into(),
        known: specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: ParamSpec = ParamSpec {
        name: "n",
        label: "Grid size",
        unit: "cells",
        help: "",
        kind: ParamKind::Int { min: 32, max: 1024, default: 256 },
        needs_reset: true,
    };
    const NU: ParamSpec = ParamSpec {
        name: "nu",
        label: "Viscosity",
        unit: "m²/s",
        help: "",
        kind: ParamKind::Float { min: 1e-6, max: 1.0, default: 1e-3, log: true },
        needs_reset: false,
    };
    const SCHEME: ParamSpec = ParamSpec {
        name: "scheme",
        label: "Scheme",
        unit: "",
        help: "",
        kind: ParamKind::Enum { options: &["explicit", "implicit"], default: "explicit" },
        needs_reset: false,
    };

    #[test]
    fn parses_in_range_values() {
        assert_eq!(N.parse("64"), Ok(ParamValue::Int(64)));
        assert_eq!(NU.parse("0.5"), Ok(ParamValue::Float(0.5)));
        assert_eq!(SCHEME.parse("implicit"), Ok(ParamValue::Enum("implicit".into())));
    }

    #[test]
    fn refuses_out_of_range_and_nan_with_the_range_in_the_message() {
        let err = N.parse("2000").unwrap_err().to_string();
        assert!(err.contains("32 ..= 1024"), "{err}");
        assert!(NU.parse("NaN").is_err());
        assert!(NU.parse("inf").is_err());
        let err = SCHEME.parse("rk4").unwrap_err().to_string();
        assert!(err.contains("explicit, implicit"), "{err}");
        assert!(N.parse("sixty").is_err());
    }

    #[test]
    fn clamps_url_values_into_range() {
        assert_eq!(N.clamp(&ParamValue::Int(5000)), ParamValue::Int(1024));
        assert_eq!(NU.clamp(&ParamValue::Float(f64::NAN)), ParamValue::Float(1e-3));
        assert_eq!(SCHEME.clamp(&ParamValue::Enum("x".into())), SCHEME.default_value());
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let specs = [N, NU];
        let mut values = ParamValues::defaults(&specs);
        let err = values.set_text("heat", &specs, "dx", "1").unwrap_err().to_string();
        assert!(err.contains("known parameters: n, nu"), "{err}");
        values.set_text("heat", &specs, "n", "128").unwrap();
        assert_eq!(values.int("n"), 128);
    }
}
