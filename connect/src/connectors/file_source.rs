//! `org.apache.kafka.connect.file.FileStreamSourceConnector`: each line of a
//! file (or of standard input) becomes a record with a STRING value on one
//! topic. The source partition is `{"filename": <file>}` and the offset
//! `{"position": <bytes read>}`, so a restarted task resumes after the last
//! committed line. Always one task.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc;

use serde_json::{json, Map, Value as Json};

use super::{ConnectorPlugin, ConnectorType, SourceTask};
use crate::config::def::{split_list, ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, ConfigValue, Props};
use crate::data::{ConnectRecord, Schema, SourceRecord, Type, Value};
use crate::error::{Error, Result};
use crate::storage::offsets::OffsetReader;

pub const CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const FILENAME_FIELD: &str = "filename";
const POSITION_FIELD: &str = "position";
const DEFAULT_BATCH_SIZE: &str = "2000";

pub struct FileStreamSourceConnector;

impl ConnectorPlugin for FileStreamSourceConnector {
    fn class(&self) -> &'static str {
        CLASS
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                "file",
                ConfigType::String,
                Default::Null,
                Importance::High,
                "The file to read; standard input when unset.",
            ))
            .define(
                ConfigKey::new(
                    "topic",
                    ConfigType::List,
                    Default::Required,
                    Importance::High,
                    "The topic to write the lines to.",
                )
                .validator(Validator::NonEmptyString),
            )
            .define(ConfigKey::new(
                "batch.size",
                ConfigType::Int,
                Default::Value(DEFAULT_BATCH_SIZE.into()),
                Importance::Low,
                "The most lines one poll returns.",
            ))
    }

    fn validate(&self, props: &Props, values: &mut [ConfigValue]) {
        let topics = props
            .get("topic")
            .map(|t| split_list(t))
            .unwrap_or_default();
        if topics.len() > 1 {
            if let Some(v) = values.iter_mut().find(|v| v.name == "topic") {
                v.errors.push(format!(
                    "Invalid value {} for configuration topic: 'topic' in FileStreamSourceConnector configuration requires definition of a single topic.",
                    props.get("topic").cloned().unwrap_or_default()
                ));
            }
        }
    }

    fn task_configs(&self, props: &Props, _max_tasks: usize) -> Result<Vec<Props>> {
        let parsed = self.config_def().parse(props).map_err(Error::Config)?;
        let mut task = Props::new();
        if let Some(f) = parsed.string("file") {
            task.insert("file".into(), f);
        }
        task.insert("topic".into(), parsed.list("topic").join(","));
        task.insert("batch.size".into(), parsed.int("batch.size").to_string());
        Ok(vec![task])
    }

    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(FileStreamSourceTask::default()))
    }

    fn alter_offsets(&self, _props: &Props, offsets: &[(Json, Option<Json>)]) -> Result<bool> {
        for (partition, offset) in offsets {
            let Some(offset) = offset else { continue };
            if partition.get(FILENAME_FIELD).is_none() {
                return Err(Error::BadRequest(format!(
                    "Partition objects for FileStreamSourceConnector must contain the key '{FILENAME_FIELD}'"
                )));
            }
            let position = offset.get(POSITION_FIELD).ok_or_else(|| {
                Error::BadRequest(format!(
                    "Offset objects for FileStreamSourceConnector should either be null or contain the key '{POSITION_FIELD}'"
                ))
            })?;
            if position.as_i64().is_none_or(|p| p < 0) {
                return Err(Error::BadRequest(format!(
                    "The value for the '{POSITION_FIELD}' key in the offset is expected to be a non-negative integer"
                )));
            }
        }
        Ok(true)
    }
}

enum Input {
    File { path: String, file: Option<File> },
    Stdin(mpsc::Receiver<Vec<u8>>),
}

/// Reads lines after the committed position.
#[derive(Default)]
pub struct FileStreamSourceTask {
    topic: String,
    batch_size: usize,
    input: Option<Input>,
    /// Bytes read but not yet returned as lines.
    buffer: Vec<u8>,
    /// File position of the start of `buffer`.
    position: u64,
    offsets: Option<OffsetReader>,
}

impl FileStreamSourceTask {
    fn partition(path: &str) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert(FILENAME_FIELD.into(), json!(path));
        m
    }

    fn open(&mut self) -> Result<bool> {
        let Some(Input::File { path, file }) = &mut self.input else {
            return Ok(true);
        };
        if file.is_some() {
            return Ok(true);
        }
        match File::open(&*path) {
            Ok(mut f) => {
                let stored = self
                    .offsets
                    .as_ref()
                    .and_then(|o| o.offset(&Json::Object(Self::partition(path))))
                    .and_then(|o| o.get(POSITION_FIELD).and_then(Json::as_u64));
                if let Some(pos) = stored {
                    tracing::debug!(file = %path, position = pos, "resuming at the committed position");
                    f.seek(SeekFrom::Start(pos))?;
                    self.position = pos;
                } else {
                    self.position = 0;
                }
                *file = Some(f);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %path, "Couldn't find file for FileStreamSourceTask, sleeping to wait for it to be created");
                Ok(false)
            }
            Err(e) => Err(Error::Connect(format!(
                "Error while trying to open file {path}: {e}"
            ))),
        }
    }

    /// Split complete lines (`\n`, `\r\n` or `\r`) off the buffer.
    fn extract_lines(&mut self, out: &mut Vec<(String, u64)>) {
        let mut start = 0;
        let mut i = 0;
        while i < self.buffer.len() && out.len() < self.batch_size {
            let b = self.buffer[i];
            if b == b'\n' || b == b'\r' {
                let end = i;
                let next = if b == b'\r' {
                    if i + 1 >= self.buffer.len() {
                        break; // cannot tell \r from \r\n yet
                    }
                    if self.buffer[i + 1] == b'\n' {
                        i + 2
                    } else {
                        i + 1
                    }
                } else {
                    i + 1
                };
                let line = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
                out.push((line, self.position + next as u64));
                start = next;
                i = next;
            } else {
                i += 1;
            }
        }
        self.buffer.drain(..start);
        self.position += start as u64;
    }
}

impl SourceTask for FileStreamSourceTask {
    fn start(&mut self, props: &Props, offsets: OffsetReader) -> Result<()> {
        self.topic = props.get("topic").cloned().unwrap_or_default();
        if self.topic.is_empty() {
            return Err(Error::config(
                "FileStreamSourceTask config missing topic setting",
            ));
        }
        self.batch_size = props
            .get("batch.size")
            .and_then(|b| b.parse().ok())
            .filter(|b: &usize| *b > 0)
            .unwrap_or(2000);
        self.offsets = Some(offsets);
        self.input = Some(match props.get("file").filter(|f| !f.is_empty()) {
            Some(path) => Input::File {
                path: path.clone(),
                file: None,
            },
            None => {
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let mut stdin = std::io::stdin();
                    let mut buf = vec![0u8; 8192];
                    while let Ok(n) = stdin.read(&mut buf) {
                        if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                });
                Input::Stdin(rx)
            }
        });
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if !self.open()? {
            return Ok(Vec::new());
        }
        let mut lines = Vec::new();
        self.extract_lines(&mut lines);
        if lines.len() < self.batch_size {
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let n = match &mut self.input {
                    Some(Input::File { file: Some(f), .. }) => f.read(&mut chunk)?,
                    Some(Input::Stdin(rx)) => match rx.try_recv() {
                        Ok(data) => {
                            self.buffer.extend_from_slice(&data);
                            data.len()
                        }
                        Err(_) => 0,
                    },
                    _ => 0,
                };
                if n == 0 {
                    break;
                }
                if matches!(self.input, Some(Input::File { .. })) {
                    self.buffer.extend_from_slice(&chunk[..n]);
                }
                self.extract_lines(&mut lines);
                if lines.len() >= self.batch_size {
                    break;
                }
            }
        }
        let (filename, is_file) = match &self.input {
            Some(Input::File { path, .. }) => (path.clone(), true),
            _ => (String::new(), false),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let schema = Schema::of(Type::String);
        Ok(lines
            .into_iter()
            .map(|(line, position)| {
                let mut record =
                    ConnectRecord::new(&self.topic, Some(schema.clone()), Value::String(line));
                record.timestamp = Some(now);
                let (partition, offset) = if is_file {
                    let mut o = Map::new();
                    o.insert(POSITION_FIELD.into(), json!(position));
                    (Self::partition(&filename), o)
                } else {
                    (Map::new(), Map::new())
                };
                SourceRecord {
                    source_partition: partition,
                    source_offset: offset,
                    record,
                }
            })
            .collect())
    }

    fn stop(&mut self) {
        self.input = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_complete_lines_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\r\nb\rc\npartial").unwrap();
        let mut props = Props::new();
        props.insert("file".into(), path.display().to_string());
        props.insert("topic".into(), "t".into());
        let mut task = FileStreamSourceTask::default();
        task.start(&props, OffsetReader::empty()).unwrap();
        let recs = task.poll().unwrap();
        let lines: Vec<_> = recs.iter().map(|r| r.record.value.to_string()).collect();
        assert_eq!(lines, vec!["a", "b", "c"]);
        assert_eq!(recs[2].source_offset["position"], json!(7));
        assert_eq!(
            recs[0].source_partition["filename"],
            json!(path.display().to_string())
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b" line\n").unwrap();
        let recs = task.poll().unwrap();
        assert_eq!(recs[0].record.value.to_string(), "partial line");
        assert_eq!(recs[0].source_offset["position"], json!(20));

        // A new task resumes after a committed position.
        let mut task = FileStreamSourceTask::default();
        task.start(
            &props,
            OffsetReader::fixed(
                json!({"filename": path.display().to_string()}),
                json!({"position": 5}),
            ),
        )
        .unwrap();
        let lines: Vec<_> = task
            .poll()
            .unwrap()
            .iter()
            .map(|r| r.record.value.to_string())
            .collect();
        assert_eq!(lines, vec!["c", "partial line"]);
    }

    #[test]
    fn batch_size_limits_a_poll() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "1\n2\n3\n4\n5\n").unwrap();
        let mut props = Props::new();
        props.insert("file".into(), path.display().to_string());
        props.insert("topic".into(), "t".into());
        props.insert("batch.size".into(), "2".into());
        let mut task = FileStreamSourceTask::default();
        task.start(&props, OffsetReader::empty()).unwrap();
        assert_eq!(task.poll().unwrap().len(), 2);
        assert_eq!(task.poll().unwrap().len(), 2);
        let last = task.poll().unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].source_offset["position"], json!(10));
    }
}
