//! CloudFormation's short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...) turned
//! into their long forms (`Ref`, `Fn::GetAtt`, `Fn::Sub`, ...).
//!
//! The template sources use the short forms because people read them; serde
//! keeps them as tagged values, which JSON cannot express. Rewriting them to
//! the long forms, which CloudFormation treats identically, gives one
//! document that serializes the same way to YAML and to JSON.

use serde_yaml::value::TaggedValue;
use serde_yaml::{Mapping, Value};

/// Rewrites every short-form tag in `value`, recursively.
pub fn expand(value: Value) -> Result<Value, String> {
    Ok(match value {
        Value::Tagged(tagged) => expand_tag(*tagged)?,
        Value::Sequence(items) => Value::Sequence(
            items
                .into_iter()
                .map(expand)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Mapping(map) => {
            let mut out = Mapping::with_capacity(map.len());
            for (key, value) in map {
                out.insert(key, expand(value)?);
            }
            Value::Mapping(out)
        }
        scalar => scalar,
    })
}

fn expand_tag(tagged: TaggedValue) -> Result<Value, String> {
    let tag = tagged.tag.to_string();
    let name = tag.trim_start_matches('!');
    let value = expand(tagged.value)?;
    let (key, value) = match name {
        "Ref" => ("Ref".to_string(), value),
        "Condition" => ("Condition".to_string(), value),
        // `!GetAtt Resource.Attribute` is the short form of a two-item list.
        "GetAtt" => match value {
            Value::String(text) => {
                let (resource, attribute) = text
                    .split_once('.')
                    .ok_or_else(|| format!("!GetAtt {text}: expected Resource.Attribute"))?;
                (
                    "Fn::GetAtt".to_string(),
                    Value::Sequence(vec![resource.into(), attribute.into()]),
                )
            }
            other => ("Fn::GetAtt".to_string(), other),
        },
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
        | "Split" | "Sub" | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" => {
            (format!("Fn::{name}"), value)
        }
        _ => return Err(format!("unknown CloudFormation tag {tag}")),
    };
    let mut map = Mapping::with_capacity(1);
    map.insert(Value::String(key), value);
    Ok(Value::Mapping(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(yaml: &str) -> serde_json::Value {
        let value: Value = serde_yaml::from_str(yaml).expect("yaml");
        serde_json::to_value(expand(value).expect("expand")).expect("json")
    }

    #[test]
    fn short_forms_become_long_forms() {
        let json = expanded(
            "a: !Ref Bucket\nb: !GetAtt Table.StreamArn\nc: !Sub 'x-${AWS::Region}'\nd: [!Join ['', [!Ref A, b]]]\n",
        );
        assert_eq!(
            json,
            serde_json::json!({
                "a": {"Ref": "Bucket"},
                "b": {"Fn::GetAtt": ["Table", "StreamArn"]},
                "c": {"Fn::Sub": "x-${AWS::Region}"},
                "d": [{"Fn::Join": ["", [{"Ref": "A"}, "b"]]}],
            })
        );
    }

    #[test]
    fn unknown_tags_and_malformed_getatt_are_errors() {
        let value: Value = serde_yaml::from_str("a: !Bogus x").expect("yaml");
        assert!(expand(value).is_err());
        let value: Value = serde_yaml::from_str("a: !GetAtt NoDot").expect("yaml");
        assert!(expand(value).is_err());
    }
}
