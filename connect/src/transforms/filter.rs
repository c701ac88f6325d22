//! `Filter`: drops every record it is applied to — used with a predicate
//! (`transforms.<alias>.predicate`, `negate`) to drop some records.

use super::{RecordContext, Transformation};
use crate::config::{ConfigDef, Props};
use crate::data::ConnectRecord;
use crate::error::Result;

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
}

pub struct Filter;

pub fn build(_: &Props) -> Result<Box<dyn Transformation>> {
    Ok(Box::new(Filter))
}

impl Transformation for Filter {
    fn apply(&self, _: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;

    #[test]
    fn drops() {
        let r = ConnectRecord::new("t", None, Value::Null);
        assert_eq!(Filter.apply(r, &RecordContext::default()).unwrap(), None);
    }
}
