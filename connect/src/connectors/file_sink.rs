//! `org.apache.kafka.connect.file.FileStreamSinkConnector`: writes each
//! record's value, as text, on its own line of a file (appending; standard
//! output when no file is set). `tasks.max` tasks, all writing the same file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;

use super::{ConnectorPlugin, ConnectorType, SinkTask};
use crate::config::def::{ConfigKey, ConfigType, Default, Importance};
use crate::config::{ConfigDef, Props};
use crate::data::SinkRecord;
use crate::error::{Error, Result};

pub const CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

pub struct FileStreamSinkConnector;

impl ConnectorPlugin for FileStreamSinkConnector {
    fn class(&self) -> &'static str {
        CLASS
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new(
            "file",
            ConfigType::String,
            Default::Null,
            Importance::High,
            "The file to write to; standard output when unset.",
        ))
    }

    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>> {
        let mut task = Props::new();
        if let Some(f) = props.get("file") {
            task.insert("file".into(), f.clone());
        }
        Ok(vec![task; max_tasks.max(1)])
    }

    fn sink_task(&self) -> Option<Box<dyn SinkTask>> {
        Some(Box::new(FileStreamSinkTask::default()))
    }
}

#[derive(Default)]
pub struct FileStreamSinkTask {
    file: Option<File>,
    to_stdout: bool,
    pending: Vec<u8>,
}

impl SinkTask for FileStreamSinkTask {
    fn start(&mut self, props: &Props) -> Result<()> {
        match props.get("file").filter(|f| !f.is_empty()) {
            Some(path) => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        Error::Connect(format!(
                            "Couldn't find or create file '{path}' for FileStreamSinkTask: {e}"
                        ))
                    })?;
                self.file = Some(f);
            }
            None => self.to_stdout = true,
        }
        Ok(())
    }

    fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        for r in records {
            writeln!(self.pending, "{}", r.record.value)?;
        }
        // One write per batch: concurrent tasks appending to one file keep whole lines.
        self.write_pending()
    }

    fn flush(&mut self, _offsets: &BTreeMap<(String, i32), i64>) -> Result<()> {
        self.write_pending()?;
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }

    fn stop(&mut self) {
        let _ = self.write_pending();
        self.file = None;
    }
}

impl FileStreamSinkTask {
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Some(f) = &mut self.file {
            f.write_all(&self.pending)?;
        } else if self.to_stdout {
            let mut out = std::io::stdout().lock();
            out.write_all(&self.pending)?;
            out.flush()?;
        }
        self.pending.clear();
        Ok(())
    }
}
