//! The fixed output schema: ten ICD-10 chapter-F blocks plus negativity, each an integer
//! 0–5, and a one-sentence rationale. Keys are ASCII ids; the prompts show the official
//! block titles.

use serde::Serialize;
use serde_json::{json, Map, Value};

/// One scored measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    /// The stored id (`F30_F39`, `negativity`).
    pub id: &'static str,
    /// The official English block title.
    pub title_en: &'static str,
    /// The official Chinese block title (ICD-10 中文版).
    pub title_zh: &'static str,
}

/// The eleven measures, in prompt and output order.
pub const DIMENSIONS: [Dimension; 11] = [
    Dimension {
        id: "F00_F09",
        title_en: "Organic, including symptomatic, mental disorders",
        title_zh: "器质性（包括症状性）精神障碍",
    },
    Dimension {
        id: "F10_F19",
        title_en: "Mental and behavioural disorders due to psychoactive substance use",
        title_zh: "使用精神活性物质所致的精神和行为障碍",
    },
    Dimension {
        id: "F20_F29",
        title_en: "Schizophrenia, schizotypal and delusional disorders",
        title_zh: "精神分裂症、分裂型障碍和妄想性障碍",
    },
    Dimension {
        id: "F30_F39",
        title_en: "Mood [affective] disorders",
        title_zh: "心境［情感］障碍",
    },
    Dimension {
        id: "F40_F48",
        title_en: "Neurotic, stress-related and somatoform disorders",
        title_zh: "神经症性、应激相关的及躯体形式障碍",
    },
    Dimension {
        id: "F50_F59",
        title_en: "Behavioural syndromes associated with physiological disturbances and physical factors",
        title_zh: "伴有生理紊乱及躯体因素的行为综合征",
    },
    Dimension {
        id: "F60_F69",
        title_en: "Disorders of adult personality and behaviour",
        title_zh: "成人人格和行为障碍",
    },
    Dimension {
        id: "F70_F79",
        title_en: "Mental retardation (intellectual disability)",
        title_zh: "精神发育迟滞（智力障碍）",
    },
    Dimension {
        id: "F80_F89",
        title_en: "Disorders of psychological development",
        title_zh: "心理发育障碍",
    },
    Dimension {
        id: "F90_F98",
        title_en: "Behavioural and emotional disorders with onset usually occurring in childhood and adolescence",
        title_zh: "通常起病于童年和少年期的行为和情绪障碍",
    },
    Dimension {
        id: "negativity",
        title_en: "Degree of negativity of the post",
        title_zh: "负面程度",
    },
];

/// Number of measures.
pub const N_DIMENSIONS: usize = DIMENSIONS.len();

/// The key of the rationale.
pub const RATIONALE: &str = "rationale";

/// The dimension id stored for a post whose answer could not be parsed.
pub const FAILURE_DIMENSION: &str = "llm_failure";

/// Scale of stored values.
pub const SCALE: &str = "0-5";

/// Highest value on the scale.
pub const MAX_VALUE: u8 = 5;

/// Index of a dimension id.
pub fn index_of(id: &str) -> Option<usize> {
    DIMENSIONS.iter().position(|d| d.id == id)
}

/// A validated answer: one value 0–5 per dimension (in [`DIMENSIONS`] order) and a rationale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scores {
    pub values: [u8; N_DIMENSIONS],
    pub rationale: String,
}

impl Scores {
    /// The value of a dimension id.
    pub fn get(&self, id: &str) -> Option<u8> {
        index_of(id).map(|i| self.values[i])
    }

    /// As the JSON object the prompts ask for.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (d, v) in DIMENSIONS.iter().zip(self.values) {
            m.insert(d.id.to_string(), json!(v));
        }
        m.insert(RATIONALE.to_string(), json!(self.rationale));
        Value::Object(m)
    }
}

/// The JSON schema of an answer, for servers that constrain output to a schema.
pub fn json_schema() -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for d in DIMENSIONS {
        props.insert(
            d.id.to_string(),
            json!({"type": "integer", "enum": [0, 1, 2, 3, 4, 5]}),
        );
        required.push(json!(d.id));
    }
    props.insert(
        RATIONALE.to_string(),
        json!({"type": "string", "maxLength": 160}),
    );
    required.push(json!(RATIONALE));
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_ascii_and_schema_lists_them_all() {
        let mut seen = std::collections::HashSet::new();
        for d in DIMENSIONS {
            assert!(d.id.is_ascii(), "{}", d.id);
            assert!(seen.insert(d.id), "duplicate {}", d.id);
        }
        let schema = json_schema();
        let required = schema["required"].as_array().unwrap();
        assert_eq!(required.len(), N_DIMENSIONS + 1);
        assert_eq!(required[3], "F30_F39");
        assert_eq!(schema["properties"]["negativity"]["enum"][5], 5);
    }

    #[test]
    fn scores_round_trip_through_json() {
        let s = Scores {
            values: [0, 1, 0, 4, 3, 2, 0, 0, 0, 0, 5],
            rationale: "“不想活了”".into(),
        };
        let v = s.to_json();
        assert_eq!(v["F30_F39"], 4);
        assert_eq!(v["negativity"], 5);
        assert_eq!(s.get("F40_F48"), Some(3));
        assert_eq!(s.get("nope"), None);
    }
}
