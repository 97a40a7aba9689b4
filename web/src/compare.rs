//! Compare mode (contract, docs/EMBEDDING.md): the same case twice, side by side, one parameter
//! at two values — `#case=lid-cavity&compare=Re:100,1000` or `compare('Re', [100, 1000])`. The
//! second side follows the first in simulated time, both share one colour range, pointer input
//! goes to both, and where the grids match a third picture shows their difference (second −
//! first). Both sides' observables share the plots.
//!
//! This file reads and checks the request; the engine runs the second side.

use flowscope_core::CaseSpec;

/// What is compared: a parameter and its two values (as the schema prints them).
#[derive(Clone, Debug, PartialEq)]
pub struct Compare {
    pub name: String,
    pub values: [String; 2],
}

impl Compare {
    /// Checks `name` and `values` against the case's schema (two values, each in range).
    pub fn new(spec: &CaseSpec, name: &str, values: &[String]) -> Result<Self, String> {
        if !spec.models.is_empty() {
            return Err(format!(
                "compare: {} runs a learned model; compare mode is for the solver cases",
                spec.title
            ));
        }
        let param = spec.param(name).ok_or_else(|| {
            let known: Vec<_> = spec.params.iter().map(|p| p.name).collect();
            format!(
                "compare: '{}' has no parameter '{name}'; it has: {}",
                spec.id,
                known.join(", ")
            )
        })?;
        let [a, b] = values else {
            return Err(format!("compare: give two values of '{name}', not {}", values.len()));
        };
        let parse = |text: &str| -> Result<String, String> {
            let value = param.parse(text.trim()).map_err(|e| format!("compare: {e}"))?;
            Ok(value.to_string())
        };
        Ok(Self { name: name.to_string(), values: [parse(a)?, parse(b)?] })
    }

    /// From the hash's `compare=<name>:<a>,<b>`.
    pub fn from_hash(spec: &CaseSpec, text: &str) -> Result<Self, String> {
        let (name, values) = text
            .split_once(':')
            .ok_or(format!("compare='{text}': write it as <parameter>:<value>,<value>"))?;
        let values: Vec<String> = values.split(',').map(str::to_string).collect();
        Self::new(spec, name, &values)
    }

    /// The hash's `compare=` value.
    pub fn to_hash(&self) -> String {
        format!("{}:{},{}", self.name, self.values[0], self.values[1])
    }

    /// The label of side `k` ("Re = 100").
    pub fn label(&self, k: usize) -> String {
        format!("{} = {}", self.name, self.values[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_is_checked_against_the_schema() {
        let spec = flowscope_cases::find("lid-cavity").unwrap();
        let compare = Compare::from_hash(spec, "Re:100,1000").unwrap();
        assert_eq!(compare.values, ["100".to_string(), "1000".to_string()]);
        assert_eq!(compare.to_hash(), "Re:100,1000");
        assert_eq!(compare.label(1), "Re = 1000");
        assert!(Compare::from_hash(spec, "Re:100").unwrap_err().contains("two values"));
        assert!(Compare::from_hash(spec, "Re=100,1000").unwrap_err().contains("<parameter>:"));
        assert!(Compare::from_hash(spec, "nope:1,2").unwrap_err().contains("no parameter 'nope'"));
        assert!(Compare::from_hash(spec, "Re:100,1e9").is_err());
        let learned = flowscope_cases::find("acdm-wake").unwrap();
        assert!(Compare::new(learned, "Re", &["100".into(), "200".into()])
            .unwrap_err()
            .contains("learned"));
    }
}
