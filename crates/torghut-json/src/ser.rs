//! A `serde::Serializer` into [`AuditValue`]: the path for typed structs.
//!
//! It follows `serde_json`'s data model (structs and maps are objects, sequences and tuples are
//! arrays, enums are externally tagged, `None` and `()` are `null`, bytes are arrays of numbers,
//! integer and boolean map keys become strings) with two differences: a NaN or infinity is kept
//! as such (for the boundary to refuse with its path) instead of becoming `null`, and integers
//! of any width, `i128`/`u128` included, are kept exactly. Nesting is bounded: a container one
//! level too deep is refused before the value inside it is serialized.

use std::fmt;

use serde::ser::{self, Serialize};

use crate::error::{render_owned, JsonError, JsonErrorReason, OwnedSeg};
use crate::value::{AuditNumber, AuditValue};

/// Serializes `t` into an [`AuditValue`] nested at most `max_depth` levels.
pub(crate) fn to_audit_value<T: Serialize + ?Sized>(
    t: &T,
    max_depth: usize,
) -> Result<AuditValue, JsonError> {
    let mut st = State {
        path: Vec::new(),
        depth: 0,
        max_depth,
    };
    t.serialize(Ser { st: &mut st })
        .map_err(|e| e.into_json_error(&[]))
}

struct State {
    path: Vec<OwnedSeg>,
    depth: usize,
    max_depth: usize,
}

impl State {
    fn enter(&mut self) -> Result<(), Error> {
        JsonErrorReason::check_depth(self.depth, self.max_depth)
            .map_err(|r| Error::new(Some(render_owned(&self.path)), r))?;
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Enters a container, and for a variant (`{"Variant": ...}`) first the object around it
    /// and the step down its name. On a refusal the path is left as it was.
    fn enter_container(&mut self, variant: Option<&'static str>) -> Result<(), Error> {
        self.enter()?;
        if let Some(variant) = variant {
            self.path.push(OwnedSeg::Key(variant.to_owned()));
            if let Err(e) = self.enter() {
                self.path.pop();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Leaves the container [`Self::enter_container`] entered, whose serialized value is
    /// `value`: for a variant, the object holding it under the variant's name.
    fn leave_container(&mut self, value: AuditValue, variant: Option<&'static str>) -> AuditValue {
        self.leave();
        match variant {
            None => value,
            Some(variant) => {
                self.path.pop();
                self.leave();
                AuditValue::Object(vec![(variant.to_owned(), value)])
            }
        }
    }

    /// Serializes `value` one step down `seg`, attaching the path to an error raised there.
    fn child<T: Serialize + ?Sized>(
        &mut self,
        seg: OwnedSeg,
        value: &T,
    ) -> Result<AuditValue, Error> {
        self.path.push(seg);
        let r = value
            .serialize(Ser { st: self })
            .map_err(|e| e.located(&self.path));
        self.path.pop();
        r
    }
}

/// A serialization error; the path is filled in by the innermost container that sees it.
/// Boxed, so that the `Result`s on the stack for every level of nesting stay small.
#[derive(Debug)]
pub(crate) struct Error(Box<ErrorInner>);

#[derive(Debug)]
struct ErrorInner {
    path: Option<String>,
    reason: JsonErrorReason,
}

impl Error {
    fn new(path: Option<String>, reason: JsonErrorReason) -> Self {
        Self(Box::new(ErrorInner { path, reason }))
    }

    fn located(mut self, path: &[OwnedSeg]) -> Self {
        if self.0.path.is_none() {
            self.0.path = Some(render_owned(path));
        }
        self
    }

    fn into_json_error(self, path: &[OwnedSeg]) -> JsonError {
        let inner = *self.located(path).0;
        JsonError::new(inner.path.unwrap_or_else(|| "$".to_owned()), inner.reason)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.0.path.as_deref().unwrap_or("$"),
            self.0.reason
        )
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(None, JsonErrorReason::Serialize(msg.to_string()))
    }
}

struct Ser<'s> {
    st: &'s mut State,
}

fn num(n: impl Into<AuditNumber>) -> Result<AuditValue, Error> {
    Ok(AuditValue::Number(n.into()))
}

impl<'s> ser::Serializer for Ser<'s> {
    type Ok = AuditValue;
    type Error = Error;
    type SerializeSeq = SeqSer<'s>;
    type SerializeTuple = SeqSer<'s>;
    type SerializeTupleStruct = SeqSer<'s>;
    type SerializeTupleVariant = SeqSer<'s>;
    type SerializeMap = MapSer<'s>;
    type SerializeStruct = MapSer<'s>;
    type SerializeStructVariant = MapSer<'s>;

    fn serialize_bool(self, v: bool) -> Result<AuditValue, Error> {
        Ok(AuditValue::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_i16(self, v: i16) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_i32(self, v: i32) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_i64(self, v: i64) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_i128(self, v: i128) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_u8(self, v: u8) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_u16(self, v: u16) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_u32(self, v: u32) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_u64(self, v: u64) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_u128(self, v: u128) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_f32(self, v: f32) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_f64(self, v: f64) -> Result<AuditValue, Error> {
        num(v)
    }
    fn serialize_char(self, v: char) -> Result<AuditValue, Error> {
        Ok(AuditValue::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<AuditValue, Error> {
        Ok(AuditValue::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<AuditValue, Error> {
        self.st.enter()?;
        self.st.leave();
        Ok(AuditValue::Array(
            v.iter().map(|&b| AuditValue::from(b)).collect(),
        ))
    }
    fn serialize_none(self) -> Result<AuditValue, Error> {
        Ok(AuditValue::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<AuditValue, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<AuditValue, Error> {
        Ok(AuditValue::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<AuditValue, Error> {
        Ok(AuditValue::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<AuditValue, Error> {
        Ok(AuditValue::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<AuditValue, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<AuditValue, Error> {
        self.st.enter()?;
        let inner = self.st.child(OwnedSeg::Key(variant.to_owned()), value);
        self.st.leave();
        Ok(AuditValue::Object(vec![(variant.to_owned(), inner?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer<'s>, Error> {
        SeqSer::open(self.st, len.unwrap_or(0), None)
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer<'s>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer<'s>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqSer<'s>, Error> {
        // `{"Variant": [...]}`: the object, then the array inside it.
        SeqSer::open(self.st, len, Some(variant))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapSer<'s>, Error> {
        MapSer::open(self.st, len.unwrap_or(0), None)
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapSer<'s>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapSer<'s>, Error> {
        // `{"Variant": {...}}`: the object, then the object inside it.
        MapSer::open(self.st, len, Some(variant))
    }
}

/// At most this many elements or members are reserved ahead, whatever length a container
/// announces.
const MAX_RESERVED: usize = 4096;

struct SeqSer<'s> {
    st: &'s mut State,
    items: Vec<AuditValue>,
    /// For a tuple variant: the variant's name, whose path step is pushed.
    variant: Option<&'static str>,
}

impl<'s> SeqSer<'s> {
    /// Enters an array (inside the object of `variant`, for a tuple variant) of about `len`
    /// elements.
    fn open(st: &'s mut State, len: usize, variant: Option<&'static str>) -> Result<Self, Error> {
        st.enter_container(variant)?;
        Ok(Self {
            st,
            items: Vec::with_capacity(len.min(MAX_RESERVED)),
            variant,
        })
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let v = self.st.child(OwnedSeg::Index(self.items.len()), value)?;
        self.items.push(v);
        Ok(())
    }

    fn finish(self) -> AuditValue {
        self.st
            .leave_container(AuditValue::Array(self.items), self.variant)
    }
}

/// The four sequence-like serializers of serde are one here: each element is pushed.
macro_rules! seq_serializer {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for SeqSer<'_> {
            type Ok = AuditValue;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<AuditValue, Error> {
                Ok(self.finish())
            }
        }
    )*};
}

seq_serializer!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The token `serde_json` serializes an exact number under (`arbitrary_precision`).
const SERDE_JSON_NUMBER: &str = "$serde_json::private::Number";

struct MapSer<'s> {
    st: &'s mut State,
    members: Vec<(String, AuditValue)>,
    /// The key given to `serialize_key`, waiting for its value.
    key: Option<String>,
    /// For a struct variant: the variant's name, whose path step is pushed.
    variant: Option<&'static str>,
}

impl<'s> MapSer<'s> {
    /// Enters an object (inside the object of `variant`, for a struct variant) of about `len`
    /// members.
    fn open(st: &'s mut State, len: usize, variant: Option<&'static str>) -> Result<Self, Error> {
        st.enter_container(variant)?;
        Ok(Self {
            st,
            members: Vec::with_capacity(len.min(MAX_RESERVED)),
            key: None,
            variant,
        })
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        let v = self.st.child(OwnedSeg::Key(key.clone()), value)?;
        self.members.push((key, v));
        Ok(())
    }

    fn finish(mut self) -> AuditValue {
        // A `serde_json::Number` (exact: the workspace builds serde_json with
        // `arbitrary_precision`) serializes as a struct of one field holding the number's text.
        if self.variant.is_none()
            && self.members.len() == 1
            && self.members[0].0 == SERDE_JSON_NUMBER
        {
            if let AuditValue::String(text) = &self.members[0].1 {
                if let Some(n) = AuditNumber::parse(text) {
                    self.members.clear();
                    self.st.leave();
                    return AuditValue::Number(n);
                }
            }
        }
        self.st
            .leave_container(AuditValue::Object(self.members), self.variant)
    }
}

impl ser::SerializeMap for MapSer<'_> {
    type Ok = AuditValue;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let k = key
            .serialize(KeySer)
            .map_err(|e| e.located(&self.st.path))?;
        self.key = Some(k);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| {
            <Error as ser::Error>::custom("a map value was serialized before its key")
                .located(&self.st.path)
        })?;
        self.member(key, value)
    }
    fn end(self) -> Result<AuditValue, Error> {
        Ok(self.finish())
    }
}

/// Structs and struct variants are one here: each field is a member.
macro_rules! struct_serializer {
    ($($trait:ident),*) => {$(
        impl ser::$trait for MapSer<'_> {
            type Ok = AuditValue;
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.member(key.to_owned(), value)
            }
            fn end(self) -> Result<AuditValue, Error> {
                Ok(self.finish())
            }
        }
    )*};
}

struct_serializer!(SerializeStruct, SerializeStructVariant);

/// Map keys: strings, chars, integers and booleans (as their text), unit variants (their name),
/// finite floats (their text, as `serde_json` writes them), newtypes of these.
struct KeySer;

fn key_error() -> Error {
    <Error as ser::Error>::custom("a map key must be a string, number, boolean or unit variant")
}

fn float_key(n: AuditNumber) -> Result<String, Error> {
    match (n.as_text(), n.non_finite()) {
        (Some(t), _) => Ok(t.to_owned()),
        (None, Some(k)) => Err(Error::new(None, JsonErrorReason::NonFinite(k))),
        (None, None) => Err(key_error()),
    }
}

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, Error> {
        float_key(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<String, Error> {
        float_key(v.into())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}
