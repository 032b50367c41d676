//! The canonical ABI encoding that [`crate::abi_digest`] hashes (what is in it, and why, is
//! the crate documentation's subject).
//!
//! Every value is written with its length, so the encoding is injective; pool indices are
//! always resolved to the values they name; lists whose order means nothing to a compiler
//! (members, attributes, nest members, permitted subclasses, ...) are sorted by their
//! encodings, lists whose order does mean something (interfaces, record components,
//! parameters, annotation elements) keep it.

use std::cell::Cell;
use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::reader::{
    parse_annotations, parse_class_list, parse_element_value, parse_inner_classes,
    parse_parameter_annotations, parse_record, parse_type_annotations, Annotation, Attribute,
    Class, Constant, ElementValue, Member, Pool, Reader, Value, ACC_PRIVATE,
};
use crate::ClassError;

type Result<T> = std::result::Result<T, ClassError>;

/// Bumped whenever the encoding changes, so old and new digests never compare equal.
const DOMAIN: &[u8] = b"kbuild-classfile abi v1\0";

/// How many bytes the encoders may still write. Each pool reference (2 bytes) can stand
/// for a 64 KiB string, so a forged class file could otherwise make a small input encode to
/// gigabytes; no real class file comes near this bound.
struct Budget {
    left: Cell<usize>,
    exceeded: Cell<bool>,
}

impl Budget {
    fn for_input(len: usize) -> Budget {
        Budget {
            left: Cell::new(len.saturating_mul(64).saturating_add(4096)),
            exceeded: Cell::new(false),
        }
    }

    fn take(&self, n: usize) -> bool {
        match self.left.get().checked_sub(n) {
            Some(left) if !self.exceeded.get() => {
                self.left.set(left);
                true
            }
            _ => {
                self.exceeded.set(true);
                false
            }
        }
    }
}

/// An encoder; once the shared budget is spent it writes nothing more, and the digest
/// fails.
struct Enc<'b> {
    buf: Vec<u8>,
    budget: &'b Budget,
}

impl<'b> Enc<'b> {
    fn new(budget: &'b Budget) -> Self {
        Enc {
            buf: Vec::new(),
            budget,
        }
    }

    /// A new encoder for one item of a list.
    fn child(&self) -> Enc<'b> {
        Enc::new(self.budget)
    }

    fn put(&mut self, b: &[u8]) {
        if self.budget.take(b.len()) {
            self.buf.extend_from_slice(b);
        }
    }

    fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }

    fn len(&mut self, n: usize) {
        // Every length comes from a class file of at most 4 GiB's worth of u4 lengths.
        self.u64(n as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.put(b);
    }

    fn opt(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.u8(0),
            Some(b) => {
                self.u8(1);
                self.bytes(b);
            }
        }
    }

    /// A list of already-encoded items, sorted first unless their order is meaningful.
    fn list(&mut self, mut items: Vec<Vec<u8>>, sort: bool) {
        if sort {
            items.sort_unstable();
        }
        self.len(items.len());
        for item in items {
            self.bytes(&item);
        }
    }

    /// Names (classes, packages, modules), each as its own item.
    fn names(&mut self, names: &[&[u8]], sort: bool) {
        self.list(names.iter().map(|n| n.to_vec()).collect(), sort);
    }

    fn value(&mut self, v: &Value<'_>) {
        match *v {
            Value::Int(x) => {
                self.u8(b'I');
                self.u32(x);
            }
            Value::Float(x) => {
                self.u8(b'F');
                self.u32(x);
            }
            Value::Long(x) => {
                self.u8(b'J');
                self.u64(x);
            }
            Value::Double(x) => {
                self.u8(b'D');
                self.u64(x);
            }
            Value::Utf8(s) => {
                self.u8(b's');
                self.bytes(s);
            }
        }
    }

    fn element_value(&mut self, v: &ElementValue<'_>) {
        match v {
            ElementValue::Const(tag, value) => {
                self.u8(*tag);
                self.value(value);
            }
            ElementValue::Enum { type_desc, name } => {
                self.u8(b'e');
                self.bytes(type_desc);
                self.bytes(name);
            }
            ElementValue::Class(desc) => {
                self.u8(b'c');
                self.bytes(desc);
            }
            ElementValue::Annotation(a) => {
                self.u8(b'@');
                self.annotation(a);
            }
            ElementValue::Array(values) => {
                self.u8(b'[');
                self.len(values.len());
                for v in values {
                    self.element_value(v);
                }
            }
        }
    }

    fn annotation(&mut self, a: &Annotation<'_>) {
        self.bytes(a.type_desc);
        self.len(a.elements.len());
        for (name, value) in &a.elements {
            self.bytes(name);
            self.element_value(value);
        }
    }

    fn annotations(&mut self, list: &[Annotation<'_>]) {
        self.len(list.len());
        for a in list {
            self.annotation(a);
        }
    }
}

pub(crate) fn abi_digest(bytes: &[u8]) -> Result<[u8; 32]> {
    let class = Class::parse(bytes)?;
    let budget = Budget::for_input(bytes.len());
    let mut e = Enc::new(&budget);
    encode_class(&class, &mut e)?;
    if budget.exceeded.get() {
        return Err(ClassError::Malformed(
            "constants referenced so often that the ABI encoding is out of proportion",
        ));
    }
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(&e.buf);
    Ok(h.finalize().into())
}

fn encode_class(class: &Class<'_>, e: &mut Enc<'_>) -> Result<()> {
    let pool = &class.pool;
    let this = class.this_class;
    e.u16(class.major);
    e.u16(class.minor);
    e.u16(class.access);
    e.bytes(this);
    e.opt(class.super_class);
    e.names(&class.interfaces, false);

    let inner = match class.attribute(b"InnerClasses") {
        Some(a) => parse_inner_classes(a.data, pool)?,
        None => Vec::new(),
    };
    // Nested classes no other compilation unit can name: local and anonymous classes (no
    // outer class) and private ones. They are left out of InnerClasses and NestMembers.
    let hidden: HashSet<&[u8]> = inner
        .iter()
        .filter(|c| c.inner != this && (c.outer.is_none() || c.access & ACC_PRIVATE != 0))
        .map(|c| c.inner)
        .collect();

    let mut attrs = Vec::new();
    for a in &class.attributes {
        let mut ae = e.child();
        ae.bytes(a.name);
        match a.name {
            b"InnerClasses" => {
                // This class's own entry (its nested access flags) and its member classes;
                // not the entries for every nested class it merely uses.
                let mut entries = Vec::new();
                for c in &inner {
                    if c.inner == this || (c.outer == Some(this) && !hidden.contains(c.inner)) {
                        let mut ce = e.child();
                        ce.bytes(c.inner);
                        ce.opt(c.outer);
                        ce.opt(c.name);
                        ce.u16(c.access);
                        entries.push(ce.buf);
                    }
                }
                ae.list(entries, true);
            }
            b"NestMembers" => {
                let members = parse_class_list(a.data, pool)?;
                let visible: Vec<&[u8]> = members
                    .into_iter()
                    .filter(|m| !hidden.contains(m))
                    .collect();
                ae.names(&visible, true);
            }
            b"PermittedSubclasses" => ae.names(&parse_class_list(a.data, pool)?, true),
            b"NestHost" | b"ModuleMainClass" => {
                let mut r = Reader::new(a.data);
                ae.bytes(pool.class(r.u2()?)?);
                r.finish("single-class attribute longer than 2 bytes")?;
            }
            b"EnclosingMethod" => {
                let mut r = Reader::new(a.data);
                ae.bytes(pool.class(r.u2()?)?);
                match r.u2()? {
                    0 => ae.u8(0),
                    nat => {
                        let (name, descriptor) = pool.name_and_type(nat)?;
                        ae.u8(1);
                        ae.bytes(name);
                        ae.bytes(descriptor);
                    }
                }
                r.finish("EnclosingMethod attribute longer than 4 bytes")?;
            }
            b"Record" => {
                let mut components = Vec::new();
                for c in parse_record(a.data, pool)? {
                    let mut ce = e.child();
                    ce.bytes(c.name);
                    ce.bytes(c.descriptor);
                    encode_attributes(&c.attributes, pool, &mut ce)?;
                    components.push(ce.buf);
                }
                // The components' order is the canonical constructor's parameter order.
                ae.list(components, false);
            }
            b"Module" => encode_module(a.data, pool, &mut ae)?,
            b"ModulePackages" => {
                let mut r = Reader::new(a.data);
                let count = r.u2()?;
                let mut packages = r.vec_for(usize::from(count), 2);
                for _ in 0..count {
                    packages.push(pool.package(r.u2()?)?);
                }
                r.finish("ModulePackages attribute longer than its entries")?;
                ae.names(&packages, true);
            }
            _ => {
                if !encode_attribute(a, pool, &mut ae)? {
                    continue;
                }
            }
        }
        attrs.push(ae.buf);
    }
    e.list(attrs, true);

    for members in [&class.fields, &class.methods] {
        let mut encoded = Vec::new();
        for m in members.iter().filter(|m| m.is_visible_abi()) {
            encoded.push(encode_member(m, pool, e)?);
        }
        // Sorted: reordering members in the source changes nothing a dependent sees. The
        // encoding starts with the name and the descriptor, so this sorts by those.
        e.list(encoded, true);
    }
    Ok(())
}

fn encode_member(m: &Member<'_>, pool: &Pool<'_>, parent: &Enc<'_>) -> Result<Vec<u8>> {
    let mut e = parent.child();
    e.bytes(m.name);
    e.bytes(m.descriptor);
    e.u16(m.access);
    encode_attributes(&m.attributes, pool, &mut e)?;
    Ok(e.buf)
}

/// A member's or record component's attributes, sorted.
fn encode_attributes(attributes: &[Attribute<'_>], pool: &Pool<'_>, e: &mut Enc<'_>) -> Result<()> {
    let mut out = Vec::new();
    for a in attributes {
        let mut ae = e.child();
        ae.bytes(a.name);
        if encode_attribute(a, pool, &mut ae)? {
            out.push(ae.buf);
        }
    }
    e.list(out, true);
    Ok(())
}

/// See [`crate::constant_fields`].
pub(crate) fn constant_fields(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let class = Class::parse(bytes)?;
    let mut out = Vec::new();
    for f in class.fields.iter().filter(|f| f.access & ACC_PRIVATE == 0) {
        let Some(a) = f.attributes.iter().find(|a| a.name == b"ConstantValue") else {
            continue;
        };
        let mut r = Reader::new(a.data);
        let index = r.u2()?;
        r.finish("ConstantValue attribute longer than 2 bytes")?;
        // The pool entry's kind is part of the text: `1` the int and `1` the long differ.
        let value = match class.pool.get(index, "constant value")? {
            Constant::Integer(v) => format!("I{v}"),
            Constant::Float(v) => format!("F{v:#x}"),
            Constant::Long(v) => format!("J{v}"),
            Constant::Double(v) => format!("D{v:#x}"),
            Constant::String(s) => format!("S{}", crate::name(class.pool.utf8(s)?)),
            _ => {
                return Err(ClassError::BadConstantIndex {
                    index,
                    expected: "constant value",
                })
            }
        };
        let field = format!("{}:{}", crate::name(f.name), crate::name(f.descriptor));
        out.push((field, value));
    }
    out.sort();
    Ok(out)
}

/// Encodes the body of an attribute that may appear on a class, a member or a record
/// component. `false` for the attributes that are not ABI: bodies and debug information.
/// An attribute this crate does not know goes in raw: it might matter to someone.
fn encode_attribute(a: &Attribute<'_>, pool: &Pool<'_>, e: &mut Enc<'_>) -> Result<bool> {
    match a.name {
        b"Code"
        | b"LineNumberTable"
        | b"LocalVariableTable"
        | b"LocalVariableTypeTable"
        | b"StackMapTable"
        | b"SourceFile"
        | b"SourceDebugExtension"
        | b"BootstrapMethods" => return Ok(false),
        b"Signature" => {
            let mut r = Reader::new(a.data);
            e.bytes(pool.utf8(r.u2()?)?);
            r.finish("Signature attribute longer than 2 bytes")?;
        }
        b"ConstantValue" => {
            let mut r = Reader::new(a.data);
            let index = r.u2()?;
            let value = match pool.get(index, "constant value")? {
                Constant::Integer(v) => Value::Int(v),
                Constant::Float(v) => Value::Float(v),
                Constant::Long(v) => Value::Long(v),
                Constant::Double(v) => Value::Double(v),
                Constant::String(s) => Value::Utf8(pool.utf8(s)?),
                _ => {
                    return Err(ClassError::BadConstantIndex {
                        index,
                        expected: "constant value",
                    })
                }
            };
            r.finish("ConstantValue attribute longer than 2 bytes")?;
            e.value(&value);
        }
        // The order of a throws clause means nothing to a compiler.
        b"Exceptions" => e.names(&parse_class_list(a.data, pool)?, true),
        b"AnnotationDefault" => e.element_value(&parse_element_value(a.data, pool)?),
        b"MethodParameters" => {
            let mut r = Reader::new(a.data);
            let count = r.u1()?;
            e.len(usize::from(count));
            for _ in 0..count {
                e.opt(pool.opt_utf8(r.u2()?)?);
                e.u16(r.u2()?);
            }
            r.finish("MethodParameters attribute longer than its entries")?;
        }
        b"RuntimeVisibleAnnotations" | b"RuntimeInvisibleAnnotations" => {
            e.annotations(&parse_annotations(a.data, pool)?);
        }
        b"RuntimeVisibleParameterAnnotations" | b"RuntimeInvisibleParameterAnnotations" => {
            let params = parse_parameter_annotations(a.data, pool)?;
            e.len(params.len());
            for p in &params {
                e.annotations(p);
            }
        }
        b"RuntimeVisibleTypeAnnotations" | b"RuntimeInvisibleTypeAnnotations" => {
            let list = parse_type_annotations(a.data, pool)?;
            e.len(list.len());
            for t in &list {
                e.u8(t.target_type);
                e.bytes(t.target_info);
                e.bytes(t.type_path);
                e.annotation(&t.annotation);
            }
        }
        _ => e.bytes(a.data),
    }
    Ok(true)
}

/// The `Module` attribute of a module-info class (JVMS 4.7.25), resolved.
fn encode_module(data: &[u8], pool: &Pool<'_>, e: &mut Enc<'_>) -> Result<()> {
    let mut r = Reader::new(data);
    e.bytes(pool.module(r.u2()?)?);
    e.u16(r.u2()?);
    e.opt(pool.opt_utf8(r.u2()?)?);

    let count = r.u2()?;
    let mut requires = Vec::new();
    for _ in 0..count {
        let mut re = e.child();
        re.bytes(pool.module(r.u2()?)?);
        re.u16(r.u2()?);
        re.opt(pool.opt_utf8(r.u2()?)?);
        requires.push(re.buf);
    }
    e.list(requires, true);

    // exports, then opens: (package, flags, target modules).
    for _ in 0..2 {
        let count = r.u2()?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let mut xe = e.child();
            xe.bytes(pool.package(r.u2()?)?);
            xe.u16(r.u2()?);
            let to_count = r.u2()?;
            let mut to = r.vec_for(usize::from(to_count), 2);
            for _ in 0..to_count {
                to.push(pool.module(r.u2()?)?);
            }
            xe.names(&to, true);
            entries.push(xe.buf);
        }
        e.list(entries, true);
    }

    let count = r.u2()?;
    let mut uses = r.vec_for(usize::from(count), 2);
    for _ in 0..count {
        uses.push(pool.class(r.u2()?)?);
    }
    e.names(&uses, true);

    let count = r.u2()?;
    let mut provides = Vec::new();
    for _ in 0..count {
        let mut pe = e.child();
        pe.bytes(pool.class(r.u2()?)?);
        let with_count = r.u2()?;
        let mut with = r.vec_for(usize::from(with_count), 2);
        for _ in 0..with_count {
            with.push(pool.class(r.u2()?)?);
        }
        // ServiceLoader returns providers in this order.
        pe.names(&with, false);
        provides.push(pe.buf);
    }
    e.list(provides, true);
    r.finish("Module attribute longer than its contents")
}
