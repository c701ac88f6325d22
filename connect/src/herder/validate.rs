//! Validation of a connector config, as `PUT /connector-plugins/{p}/config/validate`
//! answers it and as creating or updating a connector requires it.

use crate::config::def::ConfigInfos;
use crate::config::Props;
use crate::connectors::{common, ConnectorType};
use crate::error::{Error, Result};
use crate::plugins;
use crate::transforms;

/// Java's `Map.toString`: `{k=v, k2=v2}`.
pub fn java_map(props: &Props) -> String {
    let inner: Vec<String> = props.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Validate `props`: `Err` only when there is no usable connector class
/// (Connect answers those with 400); every other problem is an error in the
/// returned [`ConfigInfos`].
pub fn validate(props: &Props) -> Result<ConfigInfos> {
    let class = props.get("connector.class").ok_or_else(|| {
        Error::BadRequest(format!(
            "Connector config {} contains no connector type",
            java_map(props)
        ))
    })?;
    let plugin = plugins::connector(class).ok_or_else(|| {
        let available: Vec<String> = crate::connectors::all()
            .iter()
            .map(|c| {
                format!(
                    "PluginDesc{{klass=class {}, name='{}', version='{}', encodedVersion={}, type={}, typeName='{}', location='classpath'}}",
                    c.class(), c.class(), plugins::KAFKA_VERSION, plugins::KAFKA_VERSION,
                    c.connector_type().name(), c.connector_type().name()
                )
            })
            .collect();
        Error::BadRequest(format!(
            "Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
            available.join(", ")
        ))
    })?;
    let ty = plugin.connector_type();
    let mut def = common::enriched_def(ty, props);
    let mut values = def.validate(props);
    if ty == ConnectorType::Sink {
        common::validate_sink(props, &mut values);
    }
    validate_transform_references(props, &mut values);
    let own = plugin.config_def();
    let mut own_values = own.validate(props);
    plugin.validate(props, &mut own_values);
    for k in own.keys {
        def.add(k);
    }
    for v in own_values {
        if let Some(existing) = values.iter_mut().find(|e| e.name == v.name) {
            existing.errors.extend(v.errors);
        } else {
            values.push(v);
        }
    }
    Ok(ConfigInfos::generate(class, &def, values))
}

/// A transformation's `predicate` must name a configured predicate.
fn validate_transform_references(props: &Props, values: &mut [crate::config::ConfigValue]) {
    let predicates =
        crate::config::def::split_list(props.get("predicates").map(String::as_str).unwrap_or(""));
    for v in values.iter_mut() {
        if let Some(rest) = v.name.strip_prefix("transforms.") {
            if rest.ends_with(".predicate") {
                if let Some(p) = v.value.clone().filter(|p| !p.is_empty()) {
                    if !predicates.contains(&p) {
                        v.errors.push(format!(
                            "Invalid value {p} for configuration {}: Predicate {p} not found in the predicates list",
                            v.name
                        ));
                    }
                }
            }
            if rest.ends_with(".type") {
                if let Some(t) = v.value.clone() {
                    if transforms::resolve_transformation(&t).is_none() && v.errors.is_empty() {
                        v.errors.push(format!(
                            "Invalid value {t} for configuration {}: Not a Transformation",
                            v.name
                        ));
                    }
                }
            }
        }
        if let Some(rest) = v.name.strip_prefix("predicates.") {
            if rest.ends_with(".type") {
                if let Some(t) = v.value.clone() {
                    if transforms::resolve_predicate(&t).is_none() && v.errors.is_empty() {
                        v.errors.push(format!(
                            "Invalid value {t} for configuration {}: Not a Predicate",
                            v.name
                        ));
                    }
                }
            }
        }
    }
}

/// Connect's 400 message for an invalid config.
pub fn invalid_config_message(infos: &ConfigInfos) -> String {
    let mut msg = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        infos.error_count()
    );
    for e in infos.errors() {
        msg.push('\n');
        msg.push_str(&e);
    }
    msg.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn valid_source() {
        let infos = validate(&props(&[
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("topic", "t"),
            ("file", "/tmp/x"),
        ]))
        .unwrap();
        assert_eq!(infos.error_count(), 0, "{:?}", infos.errors());
        let j = infos.to_json();
        assert_eq!(j["name"], "FileStreamSource");
        assert!(j["groups"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("Common")));
    }

    #[test]
    fn errors_are_per_field() {
        let infos = validate(&props(&[
            ("name", "s"),
            (
                "connector.class",
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
            ),
            ("tasks.max", "many"),
        ]))
        .unwrap();
        let errs = infos.errors();
        assert!(errs.contains(
            &"Invalid value many for configuration tasks.max: Not a number of type INT".to_string()
        ));
        assert!(errs.contains(&"Must configure one of topics or topics.regex".to_string()));
        assert_eq!(infos.error_count(), 3);
        let msg = invalid_config_message(&infos);
        assert!(msg.starts_with(
            "Connector configuration is invalid and contains the following 3 error(s):\n"
        ));
    }

    #[test]
    fn missing_or_unknown_class() {
        let e = validate(&props(&[("name", "x")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Connector config {name=x} contains no connector type"
        );
        let e = validate(&props(&[("connector.class", "com.example.Nope")])).unwrap_err();
        assert!(e.to_string().starts_with("Failed to find any class that implements Connector and which name matches com.example.Nope"));
    }
}
