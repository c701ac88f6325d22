//! The standalone offsets file (`offset.storage.file.filename`) in Connect's
//! own format: a Java-serialized `java.util.HashMap<byte[], byte[]>` of
//! serialized keys (`["<connector>",{<partition>}]`) to serialized offsets,
//! so a file written by Apache Kafka's standalone worker can be taken over,
//! and the other way round.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_BLOCKDATALONG: u8 = 0x7a;
const BASE_HANDLE: u32 = 0x7e0000;
const HASHMAP_SUID: u64 = 0x0507dac1c31660d1;
const BYTE_ARRAY_SUID: u64 = 0xacf317f8060854e0;

/// Serialize entries as Java's `ObjectOutputStream` writes a `HashMap<byte[], byte[]>`.
pub fn encode(entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    write_utf(&mut out, "java.util.HashMap");
    out.extend_from_slice(&HASHMAP_SUID.to_be_bytes());
    out.push(0x03); // SC_WRITE_METHOD | SC_SERIALIZABLE
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    write_utf(&mut out, "loadFactor");
    out.push(b'I');
    write_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA);
    out.push(TC_NULL); // no superclass descriptor
                       // handle 0: the class descriptor, handle 1: the map.
    let mut capacity: u32 = 16;
    while (entries.len() as f64) > f64::from(capacity) * 0.75 {
        capacity *= 2;
    }
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&((f64::from(capacity) * 0.75) as u32).to_be_bytes());
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&capacity.to_be_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    let mut first = true;
    for (k, v) in entries {
        for bytes in [k, v] {
            out.push(TC_ARRAY);
            if first {
                out.push(TC_CLASSDESC);
                write_utf(&mut out, "[B");
                out.extend_from_slice(&BYTE_ARRAY_SUID.to_be_bytes());
                out.push(0x02); // SC_SERIALIZABLE
                out.extend_from_slice(&0u16.to_be_bytes());
                out.push(TC_ENDBLOCKDATA);
                out.push(TC_NULL);
                first = false;
            } else {
                out.push(TC_REFERENCE);
                out.extend_from_slice(&(BASE_HANDLE + 2).to_be_bytes());
            }
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

fn write_utf(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Read a Java-serialized `HashMap<byte[], byte[]>` (as written by Connect or [`encode`]).
pub fn decode(data: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut r = Reader {
        data,
        pos: 0,
        handles: Vec::new(),
    };
    r.expect(&MAGIC)?;
    if r.u8()? != TC_OBJECT {
        return Err(bad("expected an object"));
    }
    let desc = r.class_desc()?;
    if desc.name != "java.util.HashMap" {
        return Err(bad(&format!(
            "expected java.util.HashMap, found {}",
            desc.name
        )));
    }
    r.handles.push(Handle::Object);
    // Default fields: loadFactor (float), threshold (int).
    r.take(8)?;
    // Block data: capacity, size.
    let block = r.block()?;
    if block.len() < 8 {
        return Err(bad("short HashMap block data"));
    }
    let size = u32::from_be_bytes([block[4], block[5], block[6], block[7]]) as usize;
    let mut out = BTreeMap::new();
    for _ in 0..size {
        let k = r.byte_array()?;
        let v = r.byte_array()?;
        out.insert(k, v);
    }
    Ok(out)
}

fn bad(msg: &str) -> Error {
    Error::Connect(format!("Unreadable offsets file: {msg}"))
}

#[derive(Clone)]
enum Handle {
    Class(ClassDesc),
    Object,
}

#[derive(Clone)]
struct ClassDesc {
    name: String,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    handles: Vec<Handle>,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.pos + n > self.data.len() {
            return Err(bad("truncated"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn expect(&mut self, bytes: &[u8]) -> Result<()> {
        if self.take(bytes.len())? != bytes {
            return Err(bad("not a Java serialization stream"));
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Result<String> {
        let n = self.u16()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    /// A class descriptor (after its TC_CLASSDESC tag), its annotations and superclass.
    fn class_desc(&mut self) -> Result<ClassDesc> {
        match self.u8()? {
            TC_CLASSDESC => {}
            TC_REFERENCE => {
                let h = self.u32()?.wrapping_sub(BASE_HANDLE) as usize;
                return match self.handles.get(h) {
                    Some(Handle::Class(c)) => Ok(c.clone()),
                    _ => Err(bad("bad class reference")),
                };
            }
            _ => return Err(bad("expected a class descriptor")),
        }
        let name = self.utf()?;
        self.take(8)?; // serialVersionUID
        let index = self.handles.len();
        self.handles
            .push(Handle::Class(ClassDesc { name: name.clone() }));
        self.u8()?; // flags
        let fields = self.u16()?;
        for _ in 0..fields {
            let code = self.u8()?;
            self.utf()?;
            if code == b'[' || code == b'L' {
                // the field's type name, as a string or a reference to one
                match self.u8()? {
                    TC_STRING => {
                        self.utf()?;
                        self.handles.push(Handle::Object);
                    }
                    TC_REFERENCE => {
                        self.u32()?;
                    }
                    _ => return Err(bad("bad field type")),
                }
            }
        }
        // class annotations
        loop {
            match self.u8()? {
                TC_ENDBLOCKDATA => break,
                TC_BLOCKDATA => {
                    let n = self.u8()? as usize;
                    self.take(n)?;
                }
                _ => return Err(bad("unsupported class annotation")),
            }
        }
        // superclass
        match self.data.get(self.pos) {
            Some(&TC_NULL) => {
                self.pos += 1;
            }
            _ => {
                self.class_desc()?;
            }
        }
        let desc = ClassDesc { name };
        self.handles[index] = Handle::Class(desc.clone());
        Ok(desc)
    }

    fn block(&mut self) -> Result<Vec<u8>> {
        match self.u8()? {
            TC_BLOCKDATA => {
                let n = self.u8()? as usize;
                Ok(self.take(n)?.to_vec())
            }
            TC_BLOCKDATALONG => {
                let n = self.u32()? as usize;
                Ok(self.take(n)?.to_vec())
            }
            _ => Err(bad("expected block data")),
        }
    }

    fn byte_array(&mut self) -> Result<Vec<u8>> {
        if self.u8()? != TC_ARRAY {
            return Err(bad("expected a byte array"));
        }
        let desc = self.class_desc()?;
        if desc.name != "[B" {
            return Err(bad(&format!("expected byte[], found {}", desc.name)));
        }
        self.handles.push(Handle::Object);
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

/// Write the file atomically (temporary file + rename).
pub fn save(path: &Path, entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<()> {
    let bytes = encode(entries);
    let tmp = path.with_extension("tmp-strom");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Read the file; a missing file is empty.
pub fn load(path: &Path) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    match std::fs::read(path) {
        Ok(data) if data.is_empty() => Ok(BTreeMap::new()),
        Ok(data) => decode(&data),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = BTreeMap::new();
        m.insert(
            br#"["c",{"filename":"/tmp/a"}]"#.to_vec(),
            br#"{"position":42}"#.to_vec(),
        );
        m.insert(
            br#"["d",{"filename":"/tmp/b"}]"#.to_vec(),
            br#"{"position":7}"#.to_vec(),
        );
        let bytes = encode(&m);
        assert_eq!(decode(&bytes).unwrap(), m);
        assert_eq!(decode(&encode(&BTreeMap::new())).unwrap(), BTreeMap::new());
    }

    /// Bytes as Java 17's ObjectOutputStream writes
    /// `new HashMap<byte[],byte[]>(){{put("k".getBytes(), "v".getBytes());}}`
    /// (the layout Connect's FileOffsetBackingStore produces).
    #[test]
    fn reads_java_layout() {
        let mut java = Vec::new();
        java.extend_from_slice(&[0xac, 0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x11]);
        java.extend_from_slice(b"java.util.HashMap");
        java.extend_from_slice(&[
            0x05, 0x07, 0xda, 0xc1, 0xc3, 0x16, 0x60, 0xd1, 0x03, 0x00, 0x02, 0x46, 0x00, 0x0a,
        ]);
        java.extend_from_slice(b"loadFactor");
        java.extend_from_slice(&[0x49, 0x00, 0x09]);
        java.extend_from_slice(b"threshold");
        java.extend_from_slice(&[
            0x78, 0x70, 0x3f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x77, 0x08, 0x00, 0x00,
            0x00, 0x10, 0x00, 0x00, 0x00, 0x01,
        ]);
        java.extend_from_slice(&[
            0x75, 0x72, 0x00, 0x02, 0x5b, 0x42, 0xac, 0xf3, 0x17, 0xf8, 0x06, 0x08, 0x54, 0xe0,
            0x02, 0x00, 0x00, 0x78, 0x70, 0x00, 0x00, 0x00, 0x01, b'k',
        ]);
        java.extend_from_slice(&[
            0x75, 0x71, 0x00, 0x7e, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, b'v', 0x78,
        ]);
        let m = decode(&java).unwrap();
        assert_eq!(m.get(b"k".as_slice()), Some(&b"v".to_vec()));
        let mut one = BTreeMap::new();
        one.insert(b"k".to_vec(), b"v".to_vec());
        assert_eq!(encode(&one), java);
    }
}
