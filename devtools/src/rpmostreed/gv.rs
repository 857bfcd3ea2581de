//! GVariant values (as libostree and rpm-ostree build them) carried onto zbus.
//!
//! The double builds every dictionary with GLib, exactly as rpm-ostreed does (so `@a{sv} {}`, `av`
//! and `a(vv)` keep their types even when empty), and turns them into zvariant values only where
//! zbus sends them.

use std::collections::HashMap;

use ostree::glib;
use zbus::zvariant::{Array, Dict, ObjectPath, OwnedValue, Signature, StructureBuilder, Value};

/// One GVariant as a zvariant value of the same type.
pub fn value(v: &glib::Variant) -> Value<'static> {
    let ty = v.type_().as_str().to_owned();
    match ty.as_bytes()[0] {
        b'b' => Value::from(v.get::<bool>().unwrap_or_default()),
        b'y' => Value::from(v.get::<u8>().unwrap_or_default()),
        b'n' => Value::from(v.get::<i16>().unwrap_or_default()),
        b'q' => Value::from(v.get::<u16>().unwrap_or_default()),
        b'i' => Value::from(v.get::<i32>().unwrap_or_default()),
        b'u' => Value::from(v.get::<u32>().unwrap_or_default()),
        b'x' => Value::from(v.get::<i64>().unwrap_or_default()),
        b't' => Value::from(v.get::<u64>().unwrap_or_default()),
        b'd' => Value::from(v.get::<f64>().unwrap_or_default()),
        b's' => Value::from(v.str().unwrap_or_default().to_owned()),
        b'o' => ObjectPath::try_from(v.str().unwrap_or("/").to_owned())
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(ObjectPath::from_static_str_unchecked("/"))),
        b'v' => Value::Value(Box::new(value(&v.as_variant().expect("a variant")))),
        b'a' if ty.as_bytes().get(1) == Some(&b'{') => {
            let (key, val) = entry_types(&ty);
            let mut dict = Dict::new(&signature(&key), &signature(&val));
            for entry in v.iter() {
                dict.append(value(&entry.child_value(0)), value(&entry.child_value(1)))
                    .expect("entry types match the dictionary's");
            }
            Value::Dict(dict)
        }
        b'a' => {
            let mut array = Array::new(&signature(&ty[1..]));
            for element in v.iter() {
                array
                    .append(value(&element))
                    .expect("element types match the array's");
            }
            Value::Array(array)
        }
        b'(' => {
            let mut builder = StructureBuilder::new();
            for field in v.iter() {
                builder = builder.append_field(value(&field));
            }
            Value::from(builder.build().expect("a structure with fields"))
        }
        other => panic!("the double sends no GVariant of type {}", other as char),
    }
}

/// An `a{sv}` as zbus sends it: each entry's value is the variant's content.
pub fn vardict(v: &glib::Variant) -> HashMap<String, OwnedValue> {
    v.iter()
        .map(|entry| {
            let key = entry.child_value(0).str().unwrap_or_default().to_owned();
            let inner = entry
                .child_value(1)
                .as_variant()
                .expect("an a{sv} entry holds a variant");
            (key, owned(&inner))
        })
        .collect()
}

pub fn owned(v: &glib::Variant) -> OwnedValue {
    OwnedValue::try_from(value(v)).expect("no file descriptors in the double's values")
}

fn signature(text: &str) -> Signature {
    Signature::try_from(text).expect("a GVariant type is a D-Bus signature here")
}

/// The key and value types of a dictionary type `a{KV}`.
fn entry_types(ty: &str) -> (String, String) {
    let inner = &ty[2..ty.len() - 1];
    // The key is always a basic type: one character.
    (inner[..1].to_owned(), inner[1..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_containers_keep_their_types() {
        for text in ["@a{sv} {}", "@av []", "@a(vv) []", "@a(us(ss)(ss)) []"] {
            let v = glib::Variant::parse(None, text).unwrap();
            let z = value(&v);
            assert_eq!(
                z.value_signature().to_string(),
                v.type_().as_str(),
                "{text}"
            );
        }
    }

    #[test]
    fn nested_values_convert() {
        let text = "{'serial': <0>, 'timestamp': <uint64 5>, 'meta': <{'ostree.ref-binding': <['a']>}>, 'd': <[(uint32 0, 'x', ('1-1', 'x86_64'), ('2-1', 'x86_64'))]>}";
        let v = glib::Variant::parse(None, text).unwrap();
        let dict = vardict(&v);
        assert_eq!(dict["serial"].value_signature().to_string(), "i");
        assert_eq!(dict["timestamp"].value_signature().to_string(), "t");
        assert_eq!(dict["meta"].value_signature().to_string(), "a{sv}");
        assert_eq!(dict["d"].value_signature().to_string(), "a(us(ss)(ss))");
    }
}
