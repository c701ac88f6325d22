//! Storage: the `_schemas` topic ([`kafka`]), its record formats
//! ([`records`]) and the in-memory image built from it ([`image`]).

pub mod image;
pub mod kafka;
pub mod records;

pub use image::{Image, Mode, StoredSchema};
pub use kafka::KafkaStore;
