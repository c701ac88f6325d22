//! Protobuf schemas: compiling `.proto` text with its imports (references by
//! import path; `google/protobuf/*.proto` well-known types built in), the
//! canonical re-printed form, normalization, message indexes, and
//! Confluent's compatibility rules (its `SchemaDiff`: the original = the
//! writer, the update = the reader).
//!
//! Rules (incompatible ones marked ✗): package changed ✗, message removed ✗,
//! message added/moved, enum added/removed/constants changed, field
//! added/removed (proto2 `required` added ✗ / removed ✗), field renamed,
//! field kind changed between scalar/message/map ✗, scalar kind changed
//! across wire-compatible groups ✗ (int32/int64/uint32/uint64/bool/enum |
//! sint32/sint64 | string/bytes | fixed32/sfixed32 | fixed64/sfixed64 |
//! float | double), label changed on a numeric field ✗ (string/bytes ok),
//! message-typed field whose type's local name changed ✗ or whose type
//! changed incompatibly ✗, map key/value types, oneof added/removed, field
//! added to a oneof, field removed from a oneof ✗, several existing fields
//! moved into one oneof ✗, a field moved into an existing oneof ✗. Syntax
//! changes and options are not compared (as Confluent).
//!
//! The canonical form re-prints the file from its parsed (unresolved)
//! descriptor in Wire's layout: `syntax`, `package`, imports, options, then
//! the types in source order and services. Comments and whitespace go, type
//! names stay as written. The normalized form also sorts imports and options
//! and writes every type name fully qualified (`.pkg.Type`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use prost_reflect::prost_types::{
    field_descriptor_proto::{Label, Type},
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto, UninterpretedOption,
};
use prost_reflect::{Cardinality, DescriptorPool, FileDescriptor, Kind, MessageDescriptor};
use protox::file::{File, FileResolver, GoogleFileResolver};

use super::{ResolvedReference, SchemaError};

/// A compiled Protobuf schema.
#[derive(Clone, Debug)]
pub struct ProtobufSchema {
    /// As parsed, names as written.
    parsed: FileDescriptorProto,
    /// Compiled with its imports.
    file: FileDescriptor,
}

fn invalid(msg: impl std::fmt::Display) -> SchemaError {
    SchemaError::new(format!("Invalid schema: {msg}"))
}

struct Resolver {
    main_name: String,
    main: String,
    imports: HashMap<String, String>,
    google: GoogleFileResolver,
}

impl FileResolver for Resolver {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        (path.to_str() == Some(self.main_name.as_str())).then(|| self.main_name.clone())
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == self.main_name {
            return File::from_source(name, &self.main);
        }
        if let Some(source) = self.imports.get(name) {
            return File::from_source(name, source);
        }
        self.google.open_file(name)
    }
}

fn flatten(refs: &[ResolvedReference], out: &mut HashMap<String, String>) {
    for r in refs {
        flatten(&r.references, out);
        out.entry(r.name.clone())
            .or_insert_with(|| r.schema.clone());
    }
}

impl ProtobufSchema {
    pub fn parse(
        text: &str,
        references: &[ResolvedReference],
    ) -> Result<ProtobufSchema, SchemaError> {
        let mut imports = HashMap::new();
        flatten(references, &mut imports);
        let mut main_name = "schema.proto".to_owned();
        while imports.contains_key(&main_name) {
            main_name.insert(0, '_');
        }
        let parsed = File::from_source(&main_name, text)
            .map_err(invalid)?
            .file_descriptor_proto()
            .clone();
        let resolver = Resolver {
            main_name: main_name.clone(),
            main: text.to_owned(),
            imports,
            google: GoogleFileResolver::new(),
        };
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        compiler.open_file(&main_name).map_err(invalid)?;
        let pool: DescriptorPool = compiler.descriptor_pool();
        let file = pool
            .get_file_by_name(&main_name)
            .ok_or_else(|| invalid("the compiled file is missing"))?;
        Ok(ProtobufSchema { parsed, file })
    }

    pub fn file(&self) -> &FileDescriptor {
        &self.file
    }

    pub fn canonical(&self) -> String {
        Printer::new(self, false).file()
    }

    pub fn normalized(&self) -> String {
        Printer::new(self, true).file()
    }

    /// Message full names, depth-first in file order, map entries excluded.
    pub fn record_names(&self) -> Vec<String> {
        fn walk(m: MessageDescriptor, out: &mut Vec<String>) {
            if m.is_map_entry() {
                return;
            }
            out.push(m.full_name().to_owned());
            for child in m.child_messages() {
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        for m in self.file.messages() {
            walk(m, &mut out);
        }
        out
    }

    /// Confluent's message indexes of a message (by full name, with or without a leading dot):
    /// its position among the file's top-level messages, then among each parent's nested types.
    pub fn message_indexes(&self, full_name: &str) -> Option<Vec<i32>> {
        let full_name = full_name.strip_prefix('.').unwrap_or(full_name);
        let target = self.file.parent_pool().get_message_by_name(full_name)?;
        if target.parent_file().name() != self.file.name() {
            return None;
        }
        let mut path = Vec::new();
        let mut current = target;
        loop {
            match current.parent_message() {
                Some(parent) => {
                    let i = parent
                        .child_messages()
                        .position(|c| c.full_name() == current.full_name())?;
                    path.push(i32::try_from(i).ok()?);
                    current = parent;
                }
                None => {
                    let i = self
                        .file
                        .messages()
                        .position(|c| c.full_name() == current.full_name())?;
                    path.push(i32::try_from(i).ok()?);
                    break;
                }
            }
        }
        path.reverse();
        Some(path)
    }

    /// The full name of the message at `indexes` (an empty list means the first message).
    pub fn message_name(&self, indexes: &[i32]) -> Option<String> {
        let first = usize::try_from(*indexes.first().unwrap_or(&0)).ok()?;
        let mut current = self.file.messages().nth(first)?;
        for i in indexes.iter().skip(1) {
            let next = current.child_messages().nth(usize::try_from(*i).ok()?)?;
            current = next;
        }
        Some(current.full_name().to_owned())
    }
}

// ---------------------------------------------------------------------------
// Printing.

struct Printer<'a> {
    schema: &'a ProtobufSchema,
    normalized: bool,
    /// Source position of each declaration path, to restore declaration order.
    spans: HashMap<Vec<i32>, (i32, i32)>,
    resolved: FileDescriptorProto,
}

fn scalar_name(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

fn option_text(o: &UninterpretedOption) -> (String, String) {
    let name = o
        .name
        .iter()
        .map(|p| {
            if p.is_extension {
                format!("({})", p.name_part)
            } else {
                p.name_part.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    let value = if let Some(v) = &o.identifier_value {
        v.clone()
    } else if let Some(v) = o.positive_int_value {
        v.to_string()
    } else if let Some(v) = o.negative_int_value {
        v.to_string()
    } else if let Some(v) = o.double_value {
        format!("{v:?}")
    } else if let Some(v) = &o.string_value {
        quote(v)
    } else if let Some(v) = &o.aggregate_value {
        format!("{{ {v} }}")
    } else {
        String::new()
    };
    (name, value)
}

fn indent(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn ranges(ranges: &[(i32, i32)], max: i32) -> String {
    ranges
        .iter()
        .map(|&(start, end)| {
            let last = end - 1;
            if last == start {
                start.to_string()
            } else if last >= max {
                format!("{start} to max")
            } else {
                format!("{start} to {last}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a> Printer<'a> {
    fn new(schema: &'a ProtobufSchema, normalized: bool) -> Printer<'a> {
        let mut spans = HashMap::new();
        if let Some(info) = &schema.parsed.source_code_info {
            for loc in &info.location {
                if loc.span.len() >= 2 {
                    spans
                        .entry(loc.path.clone())
                        .or_insert((loc.span[0], loc.span[1]));
                }
            }
        }
        let resolved = schema.file.file_descriptor_proto().clone();
        Printer {
            schema,
            normalized,
            spans,
            resolved,
        }
    }

    fn span(&self, path: &[i32]) -> (i32, i32) {
        self.spans
            .get(path)
            .copied()
            .unwrap_or((i32::MAX, i32::MAX))
    }

    fn options(&self, options: &[UninterpretedOption]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = options.iter().map(option_text).collect();
        if self.normalized {
            out.sort();
        }
        out
    }

    fn file(&self) -> String {
        let f = &self.schema.parsed;
        let mut out = String::new();
        if let Some(syntax) = &f.syntax {
            let _ = writeln!(out, "syntax = \"{syntax}\";");
        }
        if let Some(package) = &f.package {
            let _ = writeln!(out, "package {package};");
        }
        let mut imports: Vec<String> = f
            .dependency
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let i = i32::try_from(i).unwrap_or(i32::MAX);
                if f.public_dependency.contains(&i) {
                    format!("import public \"{d}\";\n")
                } else if f.weak_dependency.contains(&i) {
                    format!("import weak \"{d}\";\n")
                } else {
                    format!("import \"{d}\";\n")
                }
            })
            .collect();
        if self.normalized {
            imports.sort();
        }
        let options = self.options(
            f.options
                .as_ref()
                .map(|o| o.uninterpreted_option.as_slice())
                .unwrap_or(&[]),
        );
        let mut sections: Vec<String> = Vec::new();
        if !imports.is_empty() {
            sections.push(imports.concat());
        }
        if !options.is_empty() {
            sections.push(
                options
                    .iter()
                    .map(|(n, v)| format!("option {n} = {v};\n"))
                    .collect(),
            );
        }
        // Types in declaration order.
        let mut types: Vec<((i32, i32), String)> = Vec::new();
        for (i, m) in f.message_type.iter().enumerate() {
            let path = vec![4, i as i32];
            let resolved = self.resolved.message_type.get(i);
            types.push((self.span(&path), self.message(m, resolved, &path)));
        }
        for (i, e) in f.enum_type.iter().enumerate() {
            types.push((self.span(&[5, i as i32]), self.enumeration(e)));
        }
        types.sort_by_key(|(span, _)| *span);
        sections.extend(types.into_iter().map(|(_, t)| t));
        let mut extends: Vec<(String, Vec<String>)> = Vec::new();
        for (i, ext) in f.extension.iter().enumerate() {
            let extendee = ext.extendee.clone().unwrap_or_default();
            let line = self.field(ext, self.resolved.extension.get(i), &[], &[]);
            match extends.iter_mut().find(|(e, _)| *e == extendee) {
                Some((_, lines)) => lines.push(line),
                None => extends.push((extendee, vec![line])),
            }
        }
        for (extendee, lines) in extends {
            sections.push(format!(
                "extend {extendee} {{\n{}}}\n",
                indent(&lines.concat())
            ));
        }
        for s in &f.service {
            sections.push(self.service(s));
        }
        for section in sections {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&section);
        }
        out
    }

    fn type_name(
        &self,
        field: &FieldDescriptorProto,
        resolved: Option<&FieldDescriptorProto>,
    ) -> String {
        if self.normalized {
            if let Some(name) = resolved.and_then(|r| r.type_name.clone()) {
                return name;
            }
        }
        match &field.type_name {
            Some(name) => name.clone(),
            None => field
                .r#type
                .and_then(|t| Type::try_from(t).ok())
                .map(scalar_name)
                .unwrap_or("bytes")
                .to_owned(),
        }
    }

    /// One field line. `maps` are the message's map-entry types (name → (key, value) fields).
    fn field(
        &self,
        field: &FieldDescriptorProto,
        resolved: Option<&FieldDescriptorProto>,
        maps: &[(
            String,
            &FieldDescriptorProto,
            &FieldDescriptorProto,
            Option<&DescriptorProto>,
        )],
        in_oneof: &[usize],
    ) -> String {
        let _ = in_oneof;
        let mut line = String::new();
        let type_name = field.type_name.as_deref().unwrap_or("");
        let simple = type_name.rsplit('.').next().unwrap_or(type_name);
        let map = maps
            .iter()
            .find(|(name, ..)| name == simple && field.label == Some(Label::Repeated as i32));
        if let Some((_, key, value, resolved_entry)) = map {
            let rk = resolved_entry.and_then(|e| e.field.first());
            let rv = resolved_entry.and_then(|e| e.field.get(1));
            let _ = write!(
                line,
                "map<{}, {}> {} = {}",
                self.type_name(key, rk),
                self.type_name(value, rv),
                field.name(),
                field.number()
            );
        } else {
            let proto3 = self.schema.parsed.syntax.as_deref() == Some("proto3");
            let label = match field.label.and_then(|l| Label::try_from(l).ok()) {
                Some(Label::Repeated) => "repeated ",
                Some(Label::Required) => "required ",
                Some(Label::Optional) if field.proto3_optional == Some(true) => "optional ",
                Some(Label::Optional) if !proto3 && field.oneof_index.is_none() => "optional ",
                _ => "",
            };
            let _ = write!(
                line,
                "{label}{} {} = {}",
                self.type_name(field, resolved),
                field.name(),
                field.number()
            );
        }
        let mut opts: Vec<(String, String)> = Vec::new();
        if let Some(default) = &field.default_value {
            let is_string = matches!(
                field.r#type.and_then(|t| Type::try_from(t).ok()),
                Some(Type::String | Type::Bytes)
            );
            opts.push((
                "default".into(),
                if is_string {
                    quote(default.as_bytes())
                } else {
                    default.clone()
                },
            ));
        }
        if let Some(json_name) = &field.json_name {
            opts.push(("json_name".into(), quote(json_name.as_bytes())));
        }
        opts.extend(
            self.options(
                field
                    .options
                    .as_ref()
                    .map(|o| o.uninterpreted_option.as_slice())
                    .unwrap_or(&[]),
            ),
        );
        if self.normalized {
            opts.sort();
        }
        if !opts.is_empty() {
            let list = opts
                .iter()
                .map(|(n, v)| format!("{n} = {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(line, " [{list}]");
        }
        line.push_str(";\n");
        line
    }

    fn message(
        &self,
        m: &DescriptorProto,
        resolved: Option<&DescriptorProto>,
        path: &[i32],
    ) -> String {
        let mut out = format!("message {} {{", m.name());
        let mut groups: Vec<String> = Vec::new();
        let mut reserved = String::new();
        if !m.reserved_range.is_empty() {
            let r: Vec<(i32, i32)> = m
                .reserved_range
                .iter()
                .map(|r| (r.start(), r.end()))
                .collect();
            let _ = writeln!(reserved, "reserved {};", ranges(&r, 536_870_911));
        }
        if !m.reserved_name.is_empty() {
            let names = m
                .reserved_name
                .iter()
                .map(|n| quote(n.as_bytes()))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(reserved, "reserved {names};");
        }
        groups.push(reserved);
        let options = self.options(
            m.options
                .as_ref()
                .map(|o| o.uninterpreted_option.as_slice())
                .unwrap_or(&[]),
        );
        groups.push(
            options
                .iter()
                .map(|(n, v)| format!("option {n} = {v};\n"))
                .collect(),
        );
        // Map entry types are printed as map<K, V> fields, not as nested messages.
        let maps: Vec<(
            String,
            &FieldDescriptorProto,
            &FieldDescriptorProto,
            Option<&DescriptorProto>,
        )> = m
            .nested_type
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.options.as_ref().and_then(|o| o.map_entry) == Some(true) && n.field.len() == 2
            })
            .map(|(i, n)| {
                (
                    n.name().to_owned(),
                    &n.field[0],
                    &n.field[1],
                    resolved.and_then(|r| r.nested_type.get(i)),
                )
            })
            .collect();
        let synthetic: HashSet<i32> = m
            .field
            .iter()
            .filter(|f| f.proto3_optional == Some(true))
            .filter_map(|f| f.oneof_index)
            .collect();
        let mut fields = String::new();
        for (i, f) in m.field.iter().enumerate() {
            if f.oneof_index.is_some_and(|o| !synthetic.contains(&o)) {
                continue;
            }
            fields.push_str(&self.field(f, resolved.and_then(|r| r.field.get(i)), &maps, &[]));
        }
        groups.push(fields);
        let mut oneofs = String::new();
        for (oi, oneof) in m.oneof_decl.iter().enumerate() {
            let oi = oi as i32;
            if synthetic.contains(&oi) {
                continue;
            }
            let mut body = String::new();
            let opts = self.options(
                oneof
                    .options
                    .as_ref()
                    .map(|o| o.uninterpreted_option.as_slice())
                    .unwrap_or(&[]),
            );
            for (n, v) in opts {
                let _ = writeln!(body, "option {n} = {v};");
            }
            for (i, f) in m.field.iter().enumerate() {
                if f.oneof_index == Some(oi) {
                    body.push_str(&self.field(
                        f,
                        resolved.and_then(|r| r.field.get(i)),
                        &maps,
                        &[],
                    ));
                }
            }
            let _ = write!(oneofs, "oneof {} {{\n{}}}\n", oneof.name(), indent(&body));
        }
        groups.push(oneofs);
        if !m.extension_range.is_empty() {
            let r: Vec<(i32, i32)> = m
                .extension_range
                .iter()
                .map(|r| (r.start(), r.end()))
                .collect();
            groups.push(format!("extensions {};\n", ranges(&r, 536_870_911)));
        }
        // Nested types in declaration order (source positions), messages first when unknown.
        let mut nested: Vec<((i32, i32), String)> = Vec::new();
        for (i, n) in m.nested_type.iter().enumerate() {
            if maps.iter().any(|(name, ..)| name == n.name()) {
                continue;
            }
            let child: Vec<i32> = [path, &[3, i as i32]].concat();
            let text = self.message(n, resolved.and_then(|r| r.nested_type.get(i)), &child);
            nested.push((self.span(&child), text));
        }
        for (i, e) in m.enum_type.iter().enumerate() {
            let child: Vec<i32> = [path, &[4, i as i32]].concat();
            nested.push((self.span(&child), self.enumeration(e)));
        }
        nested.sort_by_key(|(span, _)| *span);
        groups.push(
            nested
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join("\n"),
        );
        for g in groups.into_iter().filter(|g| !g.is_empty()) {
            out.push('\n');
            out.push_str(&indent(&g));
        }
        out.push_str("}\n");
        out
    }

    fn enumeration(&self, e: &EnumDescriptorProto) -> String {
        let mut out = format!("enum {} {{", e.name());
        let mut groups: Vec<String> = Vec::new();
        if !e.reserved_range.is_empty() {
            // Enum reserved ranges are inclusive.
            let r: Vec<(i32, i32)> = e
                .reserved_range
                .iter()
                .map(|r| (r.start(), r.end().saturating_add(1)))
                .collect();
            groups.push(format!("reserved {};\n", ranges(&r, i32::MAX)));
        }
        if !e.reserved_name.is_empty() {
            let names = e
                .reserved_name
                .iter()
                .map(|n| quote(n.as_bytes()))
                .collect::<Vec<_>>()
                .join(", ");
            groups.push(format!("reserved {names};\n"));
        }
        let options = self.options(
            e.options
                .as_ref()
                .map(|o| o.uninterpreted_option.as_slice())
                .unwrap_or(&[]),
        );
        groups.push(
            options
                .iter()
                .map(|(n, v)| format!("option {n} = {v};\n"))
                .collect(),
        );
        let mut values = String::new();
        for v in &e.value {
            let opts = self.options(
                v.options
                    .as_ref()
                    .map(|o| o.uninterpreted_option.as_slice())
                    .unwrap_or(&[]),
            );
            if opts.is_empty() {
                let _ = writeln!(values, "{} = {};", v.name(), v.number());
            } else {
                let list = opts
                    .iter()
                    .map(|(n, v)| format!("{n} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(values, "{} = {} [{list}];", v.name(), v.number());
            }
        }
        groups.push(values);
        for g in groups.into_iter().filter(|g| !g.is_empty()) {
            out.push('\n');
            out.push_str(&indent(&g));
        }
        out.push_str("}\n");
        out
    }

    fn service(&self, s: &ServiceDescriptorProto) -> String {
        let mut body = String::new();
        let options = self.options(
            s.options
                .as_ref()
                .map(|o| o.uninterpreted_option.as_slice())
                .unwrap_or(&[]),
        );
        for (n, v) in options {
            let _ = writeln!(body, "option {n} = {v};");
        }
        for m in &s.method {
            let input = m.input_type.as_deref().unwrap_or("");
            let output = m.output_type.as_deref().unwrap_or("");
            let cs = if m.client_streaming == Some(true) {
                "stream "
            } else {
                ""
            };
            let ss = if m.server_streaming == Some(true) {
                "stream "
            } else {
                ""
            };
            let opts = self.options(
                m.options
                    .as_ref()
                    .map(|o| o.uninterpreted_option.as_slice())
                    .unwrap_or(&[]),
            );
            if opts.is_empty() {
                let _ = writeln!(
                    body,
                    "rpc {} ({cs}{input}) returns ({ss}{output});",
                    m.name()
                );
            } else {
                let inner: String = opts
                    .iter()
                    .map(|(n, v)| format!("  option {n} = {v};\n"))
                    .collect();
                let _ = write!(
                    body,
                    "rpc {} ({cs}{input}) returns ({ss}{output}) {{\n{inner}}};\n",
                    m.name()
                );
            }
        }
        if body.is_empty() {
            format!("service {} {{}}\n", s.name())
        } else {
            format!("service {} {{\n{}}}\n", s.name(), indent(&body))
        }
    }
}

// ---------------------------------------------------------------------------
// Compatibility.

const COMPATIBLE: &[&str] = &[
    "MESSAGE_ADDED",
    "MESSAGE_MOVED",
    "ENUM_ADDED",
    "ENUM_REMOVED",
    "ENUM_CONST_ADDED",
    "ENUM_CONST_CHANGED",
    "ENUM_CONST_REMOVED",
    "FIELD_ADDED",
    "FIELD_REMOVED",
    "FIELD_NAME_CHANGED",
    "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
    "ONEOF_ADDED",
    "ONEOF_REMOVED",
    "ONEOF_FIELD_ADDED",
];

/// One change from the original (writer) to the update (reader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub kind: &'static str,
    pub path: String,
}

impl Difference {
    pub fn is_compatible(&self) -> bool {
        COMPATIBLE.contains(&self.kind)
    }

    /// Confluent's `Difference.toString()` with its two `%s` filled in.
    pub fn message(&self, first: &str, second: &str) -> String {
        let p = &self.path;
        let description = match self.kind {
            "PACKAGE_CHANGED" => format!("The package at '{p}' in the {first} schema does not match the package in the {second} schema"),
            "MESSAGE_REMOVED" => format!("The {first} schema is missing a MESSAGE type at path '{p}' in the {second} schema"),
            "FIELD_KIND_CHANGED" => format!("The type of a field at path '{p}' in the {first} schema does not match the {second} schema"),
            "FIELD_SCALAR_KIND_CHANGED" => {
                format!("The kind of a SCALAR field at path '{p}' in the {first} schema does not match its kind in the {second} schema")
            }
            "FIELD_NAMED_TYPE_CHANGED" => {
                format!("The type of a MESSAGE field at path '{p}' in the {first} schema does not match its type in the {second} schema")
            }
            "FIELD_NUMERIC_LABEL_CHANGED" => {
                format!("The label for a NUMERIC field at path '{p}' in the {first} schema does not match its label in the {second} schema")
            }
            "REQUIRED_FIELD_ADDED" => format!("A required field  at path '{p}' in the {first} schema is missing in the {second} schema"),
            "REQUIRED_FIELD_REMOVED" => format!("The {first} schema is missing a required field at path: '{p}' in the {second} schema"),
            "ONEOF_FIELD_REMOVED" => format!("The {first} schema is missing a oneof field at path '{p}' in the {second} schema"),
            "MULTIPLE_FIELDS_MOVED_TO_ONEOF" => {
                format!("Multiple fields in the oneof at path '{p}' in the {first} schema are outside a oneof in the {second} schema")
            }
            "FIELD_MOVED_TO_EXISTING_ONEOF" => {
                format!("A field in the oneof at path '{p}' in the {first} schema is outside an existing oneof in the {second} schema")
            }
            _ => String::new(),
        };
        format!(
            "{{errorType:\"{}\", description:\"{description}\"}}",
            self.kind
        )
    }
}

/// Checks that data written with `writer` can be read with `reader`.
pub fn check(
    reader: &ProtobufSchema,
    writer: &ProtobufSchema,
    reader_label: &str,
    writer_label: &str,
) -> Vec<String> {
    let mut seen = HashSet::new();
    differences(writer, reader)
        .into_iter()
        .filter(|d| !d.is_compatible())
        .map(|d| d.message(reader_label, writer_label))
        .filter(|m| seen.insert(m.clone()))
        .collect()
}

/// All differences from `original` to `update`, as Confluent's `SchemaDiff.compare`.
pub fn differences(original: &ProtobufSchema, update: &ProtobufSchema) -> Vec<Difference> {
    let mut ctx = Ctx {
        path: Vec::new(),
        diffs: Vec::new(),
        visiting: HashSet::new(),
    };
    let (o, u) = (&original.file, &update.file);
    if o.package_name() != u.package_name() {
        ctx.add("PACKAGE_CHANGED");
    }
    ctx.types(
        o.messages().collect(),
        u.messages().collect(),
        enum_names(o.enums()),
        enum_names(u.enums()),
    );
    ctx.diffs
}

fn enum_names(enums: impl Iterator<Item = prost_reflect::EnumDescriptor>) -> BTreeSet<String> {
    enums.map(|e| e.name().to_owned()).collect()
}

struct Ctx {
    path: Vec<String>,
    diffs: Vec<Difference>,
    visiting: HashSet<(String, String)>,
}

#[derive(PartialEq, Eq, Debug, Clone, Copy)]
enum FieldKind {
    Scalar,
    Map,
    Message,
}

#[derive(PartialEq, Eq, Debug, Clone, Copy)]
enum ScalarKind {
    GeneralNumber,
    SignedNumber,
    StringOrBytes,
    Fixed32,
    Fixed64,
    Float,
    Double,
}

fn scalar_kind(kind: &Kind) -> Option<ScalarKind> {
    Some(match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool | Kind::Enum(_) => {
            ScalarKind::GeneralNumber
        }
        Kind::Sint32 | Kind::Sint64 => ScalarKind::SignedNumber,
        Kind::String | Kind::Bytes => ScalarKind::StringOrBytes,
        Kind::Fixed32 | Kind::Sfixed32 => ScalarKind::Fixed32,
        Kind::Fixed64 | Kind::Sfixed64 => ScalarKind::Fixed64,
        Kind::Float => ScalarKind::Float,
        Kind::Double => ScalarKind::Double,
        Kind::Message(_) => return None,
    })
}

/// The label as written: proto3 fields without one have none.
fn written_label(f: &prost_reflect::FieldDescriptor) -> Option<Cardinality> {
    let proto = f.field_descriptor_proto();
    let proto3 = f.parent_file().syntax() == prost_reflect::Syntax::Proto3;
    match f.cardinality() {
        Cardinality::Optional if proto3 && proto.proto3_optional != Some(true) => None,
        Cardinality::Optional if f.containing_oneof().is_some_and(|o| !o.is_synthetic()) => None,
        c => Some(c),
    }
}

fn local_name(m: &MessageDescriptor) -> String {
    let full = m.full_name();
    let package = m.package_name();
    if !package.is_empty() && full.starts_with(package) && full.len() > package.len() {
        full[package.len() + 1..].to_owned()
    } else {
        full.to_owned()
    }
}

impl Ctx {
    fn path_string(&self) -> String {
        format!("#/{}", self.path.join("/"))
    }

    fn add(&mut self, kind: &'static str) {
        let path = self.path_string();
        self.diffs.push(Difference { kind, path });
    }

    fn types(
        &mut self,
        om: Vec<MessageDescriptor>,
        um: Vec<MessageDescriptor>,
        oe: BTreeSet<String>,
        ue: BTreeSet<String>,
    ) {
        let index =
            |list: &[MessageDescriptor], name: &str| list.iter().position(|m| m.name() == name);
        let names: BTreeSet<String> = om
            .iter()
            .chain(um.iter())
            .map(|m| m.name().to_owned())
            .collect();
        for name in names {
            self.path.push(name.clone());
            match (index(&om, &name), index(&um, &name)) {
                (Some(oi), None) => {
                    if !om[oi].is_map_entry() {
                        self.add("MESSAGE_REMOVED");
                    }
                }
                (None, Some(ui)) => {
                    if !um[ui].is_map_entry() {
                        self.add("MESSAGE_ADDED");
                    }
                }
                (Some(oi), Some(ui)) => {
                    self.message(&om[oi], &um[ui]);
                    // Index among non-map messages, as Wire's element list has no map entries.
                    let pos = |list: &[MessageDescriptor], i: usize| {
                        list[..i].iter().filter(|m| !m.is_map_entry()).count()
                    };
                    if pos(&om, oi) != pos(&um, ui) {
                        self.add("MESSAGE_MOVED");
                    }
                }
                (None, None) => {}
            }
            self.path.pop();
        }
        for name in oe.union(&ue) {
            self.path.push(name.clone());
            match (oe.contains(name), ue.contains(name)) {
                (true, false) => self.add("ENUM_REMOVED"),
                (false, true) => self.add("ENUM_ADDED"),
                _ => {}
            }
            self.path.pop();
        }
    }

    fn message(&mut self, o: &MessageDescriptor, u: &MessageDescriptor) {
        let key = (o.full_name().to_owned(), u.full_name().to_owned());
        if !self.visiting.insert(key.clone()) {
            return;
        }
        let real_oneof = |f: &prost_reflect::FieldDescriptor| {
            f.containing_oneof()
                .filter(|o| !o.is_synthetic())
                .map(|o| o.name().to_owned())
        };
        let mut o_top: Vec<prost_reflect::FieldDescriptor> =
            o.fields().filter(|f| real_oneof(f).is_none()).collect();
        let u_top: Vec<prost_reflect::FieldDescriptor> =
            u.fields().filter(|f| real_oneof(f).is_none()).collect();
        let o_oneofs: Vec<prost_reflect::OneofDescriptor> =
            o.oneofs().filter(|x| !x.is_synthetic()).collect();
        let u_oneofs: Vec<prost_reflect::OneofDescriptor> =
            u.oneofs().filter(|x| !x.is_synthetic()).collect();
        let o_oneof_tags: HashSet<u32> = o_oneofs
            .iter()
            .flat_map(|x| x.fields().map(|f| f.number()))
            .collect();

        for oneof in &u_oneofs {
            self.path.push(oneof.name().to_owned());
            let mut moved = 0;
            let mut existing = 0;
            for f in oneof.fields() {
                if let Some(pos) = o_top.iter().position(|x| x.number() == f.number()) {
                    o_top.remove(pos);
                    moved += 1;
                } else if o_oneof_tags.contains(&f.number()) {
                    existing += 1;
                }
            }
            if moved > 1 {
                self.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF");
            } else if moved == 1 && existing > 0 {
                self.add("FIELD_MOVED_TO_EXISTING_ONEOF");
            }
            self.path.pop();
        }

        let oneof_names: BTreeSet<String> = o_oneofs
            .iter()
            .chain(u_oneofs.iter())
            .map(|x| x.name().to_owned())
            .collect();
        for name in oneof_names {
            self.path.push(name.clone());
            let oo = o_oneofs.iter().find(|x| x.name() == name);
            let uo = u_oneofs.iter().find(|x| x.name() == name);
            match (oo, uo) {
                (Some(_), None) => self.add("ONEOF_REMOVED"),
                (None, Some(_)) => self.add("ONEOF_ADDED"),
                (Some(oo), Some(uo)) => {
                    let tags: BTreeSet<u32> =
                        oo.fields().chain(uo.fields()).map(|f| f.number()).collect();
                    for tag in tags {
                        self.path.push(tag.to_string());
                        let of = oo.fields().find(|f| f.number() == tag);
                        let uf = uo.fields().find(|f| f.number() == tag);
                        match (of, uf) {
                            (Some(_), None) => self.add("ONEOF_FIELD_REMOVED"),
                            (None, Some(_)) => self.add("ONEOF_FIELD_ADDED"),
                            (Some(of), Some(uf)) => self.field(&of, &uf),
                            (None, None) => {}
                        }
                        self.path.pop();
                    }
                }
                (None, None) => {}
            }
            self.path.pop();
        }

        let tags: BTreeSet<u32> = o_top
            .iter()
            .chain(u_top.iter())
            .map(|f| f.number())
            .collect();
        for tag in tags {
            self.path.push(tag.to_string());
            let of = o_top.iter().find(|f| f.number() == tag);
            let uf = u_top.iter().find(|f| f.number() == tag);
            match (of, uf) {
                (Some(of), None) => self.add(if of.cardinality() == Cardinality::Required {
                    "REQUIRED_FIELD_REMOVED"
                } else {
                    "FIELD_REMOVED"
                }),
                (None, Some(uf)) => self.add(if uf.cardinality() == Cardinality::Required {
                    "REQUIRED_FIELD_ADDED"
                } else {
                    "FIELD_ADDED"
                }),
                (Some(of), Some(uf)) => self.field(of, uf),
                (None, None) => {}
            }
            self.path.pop();
        }

        // Fields whose oneof membership changed are compared by tag as well.
        for of in o.fields() {
            if let Some(uf) = u.get_field(of.number()) {
                let (on, un) = (real_oneof(&of), real_oneof(&uf));
                let top_in_both = on.is_none() && un.is_none();
                let same_oneof = on.is_some() && on == un;
                if !top_in_both && !same_oneof {
                    self.path.push(of.number().to_string());
                    self.field(&of, &uf);
                    self.path.pop();
                }
            }
        }

        self.types(
            o.child_messages().collect(),
            u.child_messages().collect(),
            enum_names(o.child_enums()),
            enum_names(u.child_enums()),
        );
        self.visiting.remove(&key);
    }

    fn field(&mut self, o: &prost_reflect::FieldDescriptor, u: &prost_reflect::FieldDescriptor) {
        if o.name() != u.name() {
            self.add("FIELD_NAME_CHANGED");
        }
        self.kinds(
            o.kind(),
            u.kind(),
            o.is_map(),
            u.is_map(),
            written_label(o),
            written_label(u),
        );
    }

    fn kinds(
        &mut self,
        ok: Kind,
        uk: Kind,
        omap: bool,
        umap: bool,
        ol: Option<Cardinality>,
        ul: Option<Cardinality>,
    ) {
        let field_kind = |k: &Kind, map: bool| {
            if map {
                FieldKind::Map
            } else if matches!(k, Kind::Message(_)) {
                FieldKind::Message
            } else {
                FieldKind::Scalar
            }
        };
        let (ofk, ufk) = (field_kind(&ok, omap), field_kind(&uk, umap));
        if ofk != ufk {
            return self.add("FIELD_KIND_CHANGED");
        }
        match (ofk, &ok, &uk) {
            (FieldKind::Scalar, _, _) => {
                let (os, us) = (scalar_kind(&ok), scalar_kind(&uk));
                if os != us {
                    self.add("FIELD_SCALAR_KIND_CHANGED");
                } else if let (Some(ol), Some(ul)) = (ol, ul) {
                    if ol != ul {
                        self.add(if os == Some(ScalarKind::StringOrBytes) {
                            "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
                        } else {
                            "FIELD_NUMERIC_LABEL_CHANGED"
                        });
                    }
                }
            }
            (FieldKind::Map, Kind::Message(om), Kind::Message(um)) => {
                if let (Some(okf), Some(ukf), Some(ovf), Some(uvf)) = (
                    om.get_field(1),
                    um.get_field(1),
                    om.get_field(2),
                    um.get_field(2),
                ) {
                    self.kinds(okf.kind(), ukf.kind(), false, false, None, None);
                    self.kinds(
                        ovf.kind(),
                        uvf.kind(),
                        ovf.is_map(),
                        uvf.is_map(),
                        None,
                        None,
                    );
                }
            }
            (FieldKind::Message, Kind::Message(om), Kind::Message(um)) => {
                let (ol, ul) = (local_name(om), local_name(um));
                if ol != ul {
                    self.add("FIELD_NAMED_TYPE_CHANGED");
                } else {
                    let mut sub = Ctx {
                        path: vec![ol],
                        diffs: Vec::new(),
                        visiting: self.visiting.clone(),
                    };
                    sub.message(om, um);
                    let compatible = sub.diffs.iter().all(Difference::is_compatible);
                    self.diffs.extend(sub.diffs);
                    if !compatible {
                        self.add("FIELD_NAMED_TYPE_CHANGED");
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProtobufSchema {
        ProtobufSchema::parse(text, &[]).unwrap()
    }

    #[test]
    fn canonical_layout() {
        let s = parse(
            r#"
            // a comment
            syntax = "proto3";
            package com.acme;
            import "google/protobuf/timestamp.proto";
            option java_package = "com.acme.proto";
            message Car {
                string make = 1;
                repeated int32 years = 2 [packed = true];
                map<string, int64> parts = 3;
                optional string note = 4;
                oneof engine { string petrol = 5; int32 electric = 6; }
                google.protobuf.Timestamp built = 7;
                enum Color { RED = 0; BLUE = 1; }
                message Wheel { int32 size = 1; }
                reserved 10, 12 to 14;
            }
            enum Top { ZERO = 0; }
            service Garage { rpc Park (Car) returns (Car); }
            "#,
        );
        assert_eq!(
            s.canonical(),
            "syntax = \"proto3\";\npackage com.acme;\n\nimport \"google/protobuf/timestamp.proto\";\n\noption java_package = \"com.acme.proto\";\n\nmessage Car {\n  reserved 10, 12 to 14;\n\n  string make = 1;\n  repeated int32 years = 2 [packed = true];\n  map<string, int64> parts = 3;\n  optional string note = 4;\n  google.protobuf.Timestamp built = 7;\n\n  oneof engine {\n    string petrol = 5;\n    int32 electric = 6;\n  }\n\n  enum Color {\n    RED = 0;\n    BLUE = 1;\n  }\n\n  message Wheel {\n    int32 size = 1;\n  }\n}\n\nenum Top {\n  ZERO = 0;\n}\n\nservice Garage {\n  rpc Park (Car) returns (Car);\n}\n"
        );
        assert!(s
            .normalized()
            .contains(".google.protobuf.Timestamp built = 7;"));
        assert_eq!(s.record_names(), vec!["com.acme.Car", "com.acme.Car.Wheel"]);
    }

    #[test]
    fn whitespace_and_comments_do_not_matter() {
        let a = parse("syntax = \"proto3\";\nmessage A { string x = 1; }\n");
        let b = parse("syntax=\"proto3\";   // hi\n\n\nmessage A {\n  // field\n  string x=1;\n}");
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(
            a.canonical(),
            "syntax = \"proto3\";\n\nmessage A {\n  string x = 1;\n}\n"
        );
    }

    #[test]
    fn imports_resolve_from_references() {
        let other = ResolvedReference {
            name: "other.proto".into(),
            schema_type: super::super::SchemaType::Protobuf,
            schema: "syntax = \"proto3\";\npackage com.acme;\nmessage Other { string a = 1; }"
                .into(),
            references: vec![],
        };
        let s = ProtobufSchema::parse(
            "syntax = \"proto3\";\npackage com.acme;\nimport \"other.proto\";\nmessage Main { Other o = 1; }",
            &[other],
        )
        .unwrap();
        assert_eq!(s.record_names(), vec!["com.acme.Main"]);
        assert!(ProtobufSchema::parse(
            "syntax = \"proto3\";\nimport \"missing.proto\";\nmessage M {}",
            &[]
        )
        .is_err());
        assert!(
            ProtobufSchema::parse("syntax = \"proto3\";\nmessage M { Unknown u = 1; }", &[])
                .is_err()
        );
        assert!(ProtobufSchema::parse("not a proto", &[]).is_err());
    }

    #[test]
    fn recursive_messages_check() {
        let a = parse("syntax = \"proto3\";\nmessage Node { Node next = 1; int32 v = 2; }");
        let b = parse("syntax = \"proto3\";\nmessage Node { Node next = 1; string v = 2; }");
        assert!(check(&a, &a, "new", "old").is_empty());
        assert!(!check(&b, &a, "new", "old").is_empty());
    }

    #[test]
    fn message_indexes() {
        let s = parse(
            "syntax = \"proto3\";\npackage p;\nmessage A { message B { message C {} } map<string,string> m = 1; message D {} }\nmessage E {}",
        );
        assert_eq!(s.message_indexes("p.A"), Some(vec![0]));
        assert_eq!(s.message_indexes("p.E"), Some(vec![1]));
        assert_eq!(s.message_indexes(".p.A.B.C"), Some(vec![0, 0, 0]));
        // map entry MEntry is nested type #1 of A, so D is #2.
        assert_eq!(s.message_indexes("p.A.D"), Some(vec![0, 2]));
        assert_eq!(s.message_name(&[0, 2]).as_deref(), Some("p.A.D"));
        assert_eq!(s.message_name(&[]).as_deref(), Some("p.A"));
        assert_eq!(s.message_indexes("p.Nope"), None);
    }

    #[test]
    fn scalar_kind_message() {
        let old = parse("syntax = \"proto3\";\nmessage Car { string make = 1; string model = 2; int32 year = 3; }");
        let new = parse("syntax = \"proto3\";\nmessage Car { string make = 1; float model = 2; int32 year = 3; }");
        assert_eq!(
            check(&new, &old, "new", "old"),
            vec!["{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/Car/2' in the new schema does not match its kind in the old schema\"}".to_string()]
        );
    }
}
