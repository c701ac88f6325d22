//! Protobuf schemas sent or asked for as a base64 `FileDescriptorProto`
//! (Confluent's `format=serialized`; the Python client registers schemas this
//! way): [`from_serialized`] turns one into `.proto` text for the schema
//! model, [`to_serialized`] goes back.

use base64::Engine;
use prost_reflect::prost::Message;
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto,
};

use crate::schema::ParsedSchema;

/// A base64 `FileDescriptorProto` as `.proto` text; `None` when `text` is not one
/// (e.g. it is already `.proto` text).
pub fn from_serialized(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || matches!(c, ';' | '{' | '}' | '"'))
    {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    let file = FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    if file.message_type.is_empty()
        && file.enum_type.is_empty()
        && file.service.is_empty()
        && file.syntax.is_none()
    {
        return None;
    }
    Some(print_file(&file))
}

/// The compiled descriptor of a Protobuf schema, base64-encoded.
pub fn to_serialized(schema: &ParsedSchema) -> Option<String> {
    let proto = schema.as_protobuf()?.file().file_descriptor_proto().clone();
    Some(base64::engine::general_purpose::STANDARD.encode(proto.encode_to_vec()))
}

fn print_file(f: &FileDescriptorProto) -> String {
    let mut out = String::new();
    let syntax = f.syntax.as_deref().unwrap_or("proto2");
    if syntax == "editions" {
        out.push_str("edition = \"2023\";\n");
    } else {
        out.push_str(&format!("syntax = \"{syntax}\";\n"));
    }
    if let Some(p) = &f.package {
        out.push_str(&format!("package {p};\n"));
    }
    for (i, dep) in f.dependency.iter().enumerate() {
        let kind = if f.public_dependency.contains(&(i as i32)) {
            "public "
        } else if f.weak_dependency.contains(&(i as i32)) {
            "weak "
        } else {
            ""
        };
        out.push_str(&format!("import {kind}{};\n", quote(dep)));
    }
    if let Some(o) = &f.options {
        let strings = [
            ("java_package", &o.java_package),
            ("java_outer_classname", &o.java_outer_classname),
            ("go_package", &o.go_package),
            ("csharp_namespace", &o.csharp_namespace),
            ("objc_class_prefix", &o.objc_class_prefix),
            ("php_namespace", &o.php_namespace),
            ("ruby_package", &o.ruby_package),
            ("swift_prefix", &o.swift_prefix),
        ];
        for (name, v) in strings {
            if let Some(v) = v {
                out.push_str(&format!("option {name} = {};\n", quote(v)));
            }
        }
        if let Some(v) = o.java_multiple_files {
            out.push_str(&format!("option java_multiple_files = {v};\n"));
        }
    }
    let proto3 = syntax == "proto3";
    for m in &f.message_type {
        print_message(&mut out, m, proto3, 0);
    }
    for e in &f.enum_type {
        print_enum(&mut out, e, 0);
    }
    for s in &f.service {
        print_service(&mut out, s);
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn print_message(out: &mut String, m: &DescriptorProto, proto3: bool, depth: usize) {
    indent(out, depth);
    out.push_str(&format!("message {} {{\n", m.name()));
    let map_entries: Vec<&DescriptorProto> = m
        .nested_type
        .iter()
        .filter(|n| {
            n.options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false)
        })
        .collect();
    let mut printed_oneofs = std::collections::HashSet::new();
    for field in &m.field {
        let real_oneof = field.oneof_index.filter(|_| !field.proto3_optional());
        match real_oneof {
            Some(idx) => {
                if printed_oneofs.insert(idx) {
                    let name = m
                        .oneof_decl
                        .get(idx as usize)
                        .map(|o| o.name().to_string())
                        .unwrap_or_else(|| format!("oneof_{idx}"));
                    indent(out, depth + 1);
                    out.push_str(&format!("oneof {name} {{\n"));
                    for f in m
                        .field
                        .iter()
                        .filter(|f| f.oneof_index == Some(idx) && !f.proto3_optional())
                    {
                        print_field(out, f, &map_entries, proto3, true, depth + 2);
                    }
                    indent(out, depth + 1);
                    out.push_str("}\n");
                }
            }
            None => print_field(out, field, &map_entries, proto3, false, depth + 1),
        }
    }
    for n in &m.nested_type {
        if !map_entries.iter().any(|e| std::ptr::eq(*e, n)) {
            print_message(out, n, proto3, depth + 1);
        }
    }
    for e in &m.enum_type {
        print_enum(out, e, depth + 1);
    }
    for r in &m.extension_range {
        indent(out, depth + 1);
        out.push_str(&format!(
            "extensions {} to {};\n",
            r.start(),
            range_end(r.end() - 1)
        ));
    }
    for r in &m.reserved_range {
        indent(out, depth + 1);
        if r.end() - 1 == r.start() {
            out.push_str(&format!("reserved {};\n", r.start()));
        } else {
            out.push_str(&format!(
                "reserved {} to {};\n",
                r.start(),
                range_end(r.end() - 1)
            ));
        }
    }
    if !m.reserved_name.is_empty() {
        indent(out, depth + 1);
        let names: Vec<String> = m.reserved_name.iter().map(|n| quote(n)).collect();
        out.push_str(&format!("reserved {};\n", names.join(", ")));
    }
    indent(out, depth);
    out.push_str("}\n");
}

fn range_end(end: i32) -> String {
    if end >= 536_870_911 {
        "max".to_string()
    } else {
        end.to_string()
    }
}

fn print_field(
    out: &mut String,
    f: &FieldDescriptorProto,
    map_entries: &[&DescriptorProto],
    proto3: bool,
    in_oneof: bool,
    depth: usize,
) {
    indent(out, depth);
    // map<K, V>
    if f.label() == Label::Repeated && f.r#type() == Type::Message {
        let entry_name = f.type_name().rsplit('.').next().unwrap_or_default();
        if let Some(entry) = map_entries.iter().find(|e| e.name() == entry_name) {
            let key = entry.field.iter().find(|x| x.number() == 1);
            let value = entry.field.iter().find(|x| x.number() == 2);
            if let (Some(k), Some(v)) = (key, value) {
                out.push_str(&format!(
                    "map<{}, {}> {} = {}{};\n",
                    type_name(k),
                    type_name(v),
                    f.name(),
                    f.number(),
                    field_options(f)
                ));
                return;
            }
        }
    }
    let label = if in_oneof {
        ""
    } else {
        match f.label() {
            Label::Repeated => "repeated ",
            Label::Required => "required ",
            Label::Optional if !proto3 || f.proto3_optional() => "optional ",
            Label::Optional => "",
        }
    };
    out.push_str(&format!(
        "{label}{} {} = {}{};\n",
        type_name(f),
        f.name(),
        f.number(),
        field_options(f)
    ));
}

fn field_options(f: &FieldDescriptorProto) -> String {
    let mut opts = Vec::new();
    if let Some(d) = &f.default_value {
        let v = match f.r#type() {
            Type::String => quote(d),
            Type::Bytes => quote(d),
            _ => d.clone(),
        };
        opts.push(format!("default = {v}"));
    }
    if let Some(o) = &f.options {
        if let Some(p) = o.packed {
            opts.push(format!("packed = {p}"));
        }
        if o.deprecated == Some(true) {
            opts.push("deprecated = true".to_string());
        }
    }
    if opts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", opts.join(", "))
    }
}

fn type_name(f: &FieldDescriptorProto) -> String {
    let scalar = match f.r#type() {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group | Type::Message | Type::Enum => "",
    };
    if scalar.is_empty() || f.type_name.is_some() && f.r#type.is_none() {
        f.type_name().to_string()
    } else {
        scalar.to_string()
    }
}

fn print_enum(out: &mut String, e: &EnumDescriptorProto, depth: usize) {
    indent(out, depth);
    out.push_str(&format!("enum {} {{\n", e.name()));
    if e.options.as_ref().and_then(|o| o.allow_alias) == Some(true) {
        indent(out, depth + 1);
        out.push_str("option allow_alias = true;\n");
    }
    for v in &e.value {
        indent(out, depth + 1);
        out.push_str(&format!("{} = {};\n", v.name(), v.number()));
    }
    for r in &e.reserved_range {
        indent(out, depth + 1);
        if r.end() == r.start() {
            out.push_str(&format!("reserved {};\n", r.start()));
        } else {
            out.push_str(&format!("reserved {} to {};\n", r.start(), r.end()));
        }
    }
    if !e.reserved_name.is_empty() {
        indent(out, depth + 1);
        let names: Vec<String> = e.reserved_name.iter().map(|n| quote(n)).collect();
        out.push_str(&format!("reserved {};\n", names.join(", ")));
    }
    indent(out, depth);
    out.push_str("}\n");
}

fn print_service(out: &mut String, s: &ServiceDescriptorProto) {
    out.push_str(&format!("service {} {{\n", s.name()));
    for m in &s.method {
        let cs = if m.client_streaming() { "stream " } else { "" };
        let ss = if m.server_streaming() { "stream " } else { "" };
        out.push_str(&format!(
            "  rpc {} ({cs}{}) returns ({ss}{});\n",
            m.name(),
            m.input_type(),
            m.output_type()
        ));
    }
    out.push_str("}\n");
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;

    #[test]
    fn round_trip_through_serialized() {
        let text = r#"syntax = "proto3";
package shop.v1;
message Order {
  string id = 1;
  repeated Line lines = 2;
  map<string, int64> counts = 3;
  optional int32 priority = 4;
  oneof payment {
    string card = 5;
    string cash = 6;
  }
  Status status = 7;
  message Line { string sku = 1; int32 qty = 2; }
  enum Status { NEW = 0; PAID = 1; }
}
"#;
        let parsed = ParsedSchema::parse(SchemaType::Protobuf, text, &[]).unwrap();
        let b64 = to_serialized(&parsed).unwrap();
        let back = from_serialized(&b64).unwrap();
        let reparsed = ParsedSchema::parse(SchemaType::Protobuf, &back, &[])
            .unwrap_or_else(|e| panic!("{e}: {back}"));
        // Type names come back fully qualified (`.shop.v1.Order.Line`), so the
        // text differs from the original; the schema is the same.
        assert_eq!(reparsed.record_names(), parsed.record_names());
        assert!(
            crate::schema::check_compatibility(
                crate::schema::CompatibilityLevel::Full,
                &reparsed,
                std::slice::from_ref(&parsed)
            )
            .is_empty(),
            "{back}"
        );
        // Descriptor -> text -> descriptor -> text is a fixpoint: the same
        // descriptor always becomes the same text (and so the same id).
        let again = from_serialized(&to_serialized(&reparsed).unwrap()).unwrap();
        assert_eq!(again, back);
        assert!(from_serialized(text).is_none());
    }
}
