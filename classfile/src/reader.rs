//! The class file structure of JVMS chapter 4: a bounds-checked byte reader, the constant
//! pool (every tag up to Java 21 and beyond: there have been no new tags since 11), the
//! class, its fields, methods and attributes, and the annotation structures of 4.7.16-4.7.22.
//!
//! Attribute bodies stay raw slices until someone asks for them. Every count read from the
//! input bounds a reservation only by the bytes actually left, so a forged count cannot make
//! the reader allocate more than the input's size.

use crate::ClassError;

type Result<T> = std::result::Result<T, ClassError>;

/// A cursor over a byte slice; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(ClassError::Truncated);
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u1(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u2(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u4(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u8(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// Fails unless every byte has been read: an attribute whose declared length disagrees
    /// with its structure is malformed.
    pub(crate) fn finish(&self, what: &'static str) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(ClassError::Malformed(what))
        }
    }

    /// A `Vec` for `count` items of at least `min_size` bytes each, reserving no more than
    /// the remaining input could hold.
    pub(crate) fn vec_for<T>(&self, count: usize, min_size: usize) -> Vec<T> {
        Vec::with_capacity(count.min(self.remaining() / min_size.max(1)))
    }
}

/// One constant pool entry (JVMS 4.4). Indices are left unresolved; [`Pool`] resolves them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Constant<'a> {
    /// Index 0, and the slot after a `Long` or `Double`.
    Unusable,
    Utf8(&'a [u8]),
    Integer(u32),
    Float(u32),
    Long(u64),
    Double(u64),
    Class(u16),
    String(u16),
    FieldRef(u16, u16),
    MethodRef(u16, u16),
    InterfaceMethodRef(u16, u16),
    NameAndType {
        name: u16,
        descriptor: u16,
    },
    MethodHandle(u8, u16),
    MethodType(u16),
    /// The `NameAndType` of a `Dynamic` constant (its bootstrap method index is not kept).
    Dynamic(u16),
    InvokeDynamic(u16),
    Module(u16),
    Package(u16),
}

pub(crate) struct Pool<'a> {
    entries: Vec<Constant<'a>>,
}

impl<'a> Pool<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Pool<'a>> {
        let count = r.u2()?;
        // The smallest entry (an empty Utf8) takes 3 bytes.
        let mut entries = r.vec_for(usize::from(count), 3);
        entries.push(Constant::Unusable);
        while entries.len() < usize::from(count) {
            let index = entries.len() as u16;
            let tag = r.u1()?;
            let entry = match tag {
                1 => {
                    let len = r.u2()?;
                    Constant::Utf8(r.bytes(usize::from(len))?)
                }
                3 => Constant::Integer(r.u4()?),
                4 => Constant::Float(r.u4()?),
                5 => Constant::Long(r.u8()?),
                6 => Constant::Double(r.u8()?),
                7 => Constant::Class(r.u2()?),
                8 => Constant::String(r.u2()?),
                9 => Constant::FieldRef(r.u2()?, r.u2()?),
                10 => Constant::MethodRef(r.u2()?, r.u2()?),
                11 => Constant::InterfaceMethodRef(r.u2()?, r.u2()?),
                12 => Constant::NameAndType {
                    name: r.u2()?,
                    descriptor: r.u2()?,
                },
                15 => Constant::MethodHandle(r.u1()?, r.u2()?),
                16 => Constant::MethodType(r.u2()?),
                17 => Constant::Dynamic(r.u2().and_then(|_| r.u2())?),
                18 => Constant::InvokeDynamic(r.u2().and_then(|_| r.u2())?),
                19 => Constant::Module(r.u2()?),
                20 => Constant::Package(r.u2()?),
                _ => return Err(ClassError::UnsupportedTag { tag, index }),
            };
            entries.push(entry);
            // "In retrospect, making 8-byte constants take two constant pool entries was a
            // poor choice" (JVMS 4.4.5): the next index is unusable.
            if matches!(entry, Constant::Long(_) | Constant::Double(_)) {
                entries.push(Constant::Unusable);
            }
        }
        let pool = Pool { entries };
        pool.check()?;
        Ok(pool)
    }

    /// The format checks of JVMS 4.4 on references between entries: each index names an
    /// entry of the kind its tag requires.
    fn check(&self) -> Result<()> {
        let is = |index: u16, expected: &'static str, ok: fn(&Constant<'_>) -> bool| {
            if self.get(index, expected).is_ok_and(|c| ok(&c)) {
                Ok(())
            } else {
                Err(ClassError::BadConstantIndex { index, expected })
            }
        };
        let utf8 = |c: &Constant<'_>| matches!(c, Constant::Utf8(_));
        let nat = |c: &Constant<'_>| matches!(c, Constant::NameAndType { .. });
        for c in &self.entries {
            match *c {
                Constant::Class(i)
                | Constant::String(i)
                | Constant::MethodType(i)
                | Constant::Module(i)
                | Constant::Package(i) => is(i, "Utf8", utf8)?,
                Constant::FieldRef(class, n)
                | Constant::MethodRef(class, n)
                | Constant::InterfaceMethodRef(class, n) => {
                    is(class, "Class", |c| matches!(c, Constant::Class(_)))?;
                    is(n, "NameAndType", nat)?;
                }
                Constant::NameAndType { name, descriptor } => {
                    is(name, "Utf8", utf8)?;
                    is(descriptor, "Utf8", utf8)?;
                }
                Constant::MethodHandle(kind, reference) => match kind {
                    1..=4 => is(reference, "Fieldref", |c| {
                        matches!(c, Constant::FieldRef(..))
                    })?,
                    5..=9 => is(reference, "Methodref or InterfaceMethodref", |c| {
                        matches!(
                            c,
                            Constant::MethodRef(..) | Constant::InterfaceMethodRef(..)
                        )
                    })?,
                    _ => return Err(ClassError::Malformed("bad method handle kind")),
                },
                Constant::Dynamic(n) | Constant::InvokeDynamic(n) => is(n, "NameAndType", nat)?,
                Constant::Unusable
                | Constant::Utf8(_)
                | Constant::Integer(_)
                | Constant::Float(_)
                | Constant::Long(_)
                | Constant::Double(_) => {}
            }
        }
        Ok(())
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Constant<'a>> {
        self.entries.iter()
    }

    pub(crate) fn get(&self, index: u16, expected: &'static str) -> Result<Constant<'a>> {
        match self.entries.get(usize::from(index)) {
            Some(Constant::Unusable) | None => {
                Err(ClassError::BadConstantIndex { index, expected })
            }
            Some(c) => Ok(*c),
        }
    }

    pub(crate) fn utf8(&self, index: u16) -> Result<&'a [u8]> {
        match self.get(index, "Utf8")? {
            Constant::Utf8(b) => Ok(b),
            _ => Err(ClassError::BadConstantIndex {
                index,
                expected: "Utf8",
            }),
        }
    }

    /// A Utf8 entry, or `None` for index 0 (where the structure allows it).
    pub(crate) fn opt_utf8(&self, index: u16) -> Result<Option<&'a [u8]>> {
        if index == 0 {
            Ok(None)
        } else {
            self.utf8(index).map(Some)
        }
    }

    /// The Utf8 that an entry of a one-index kind (`Class`, `Module`, `Package`) names.
    fn named(&self, index: u16, expected: &'static str) -> Result<&'a [u8]> {
        let name = match (self.get(index, expected)?, expected) {
            (Constant::Class(n), "Class")
            | (Constant::Module(n), "Module")
            | (Constant::Package(n), "Package") => n,
            _ => return Err(ClassError::BadConstantIndex { index, expected }),
        };
        self.utf8(name)
    }

    /// The internal name of a `Class` entry.
    pub(crate) fn class(&self, index: u16) -> Result<&'a [u8]> {
        self.named(index, "Class")
    }

    pub(crate) fn opt_class(&self, index: u16) -> Result<Option<&'a [u8]>> {
        if index == 0 {
            Ok(None)
        } else {
            self.class(index).map(Some)
        }
    }

    pub(crate) fn module(&self, index: u16) -> Result<&'a [u8]> {
        self.named(index, "Module")
    }

    pub(crate) fn package(&self, index: u16) -> Result<&'a [u8]> {
        self.named(index, "Package")
    }

    /// The name and descriptor of a `NameAndType` entry.
    pub(crate) fn name_and_type(&self, index: u16) -> Result<(&'a [u8], &'a [u8])> {
        match self.get(index, "NameAndType")? {
            Constant::NameAndType { name, descriptor } => {
                Ok((self.utf8(name)?, self.utf8(descriptor)?))
            }
            _ => Err(ClassError::BadConstantIndex {
                index,
                expected: "NameAndType",
            }),
        }
    }
}

/// An attribute: its resolved name and its raw body.
pub(crate) struct Attribute<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) data: &'a [u8],
}

pub(crate) fn read_attributes<'a>(
    r: &mut Reader<'a>,
    pool: &Pool<'a>,
) -> Result<Vec<Attribute<'a>>> {
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 6);
    for _ in 0..count {
        let name = pool.utf8(r.u2()?)?;
        let len = r.u4()?;
        let data = r.bytes(usize::try_from(len).map_err(|_| ClassError::Truncated)?)?;
        out.push(Attribute { name, data });
    }
    Ok(out)
}

/// A field or a method (JVMS 4.5, 4.6).
pub(crate) struct Member<'a> {
    pub(crate) access: u16,
    pub(crate) name: &'a [u8],
    pub(crate) descriptor: &'a [u8],
    pub(crate) attributes: Vec<Attribute<'a>>,
}

pub(crate) const ACC_PRIVATE: u16 = 0x0002;
pub(crate) const ACC_SYNTHETIC: u16 = 0x1000;

impl Member<'_> {
    /// What another compilation unit can see: not private, and not synthetic (javac's
    /// lookups skip synthetic members; they are bridges, `access$NNN` accessors for private
    /// members, `this$0` and captured `val$x` fields, `$assertionsDisabled`, ...), and not a
    /// static initializer, which nothing can call.
    pub(crate) fn is_visible_abi(&self) -> bool {
        self.access & (ACC_PRIVATE | ACC_SYNTHETIC) == 0
            && self.name != b"<clinit>"
            && !self.attributes.iter().any(|a| a.name == b"Synthetic")
    }
}

fn read_members<'a>(r: &mut Reader<'a>, pool: &Pool<'a>) -> Result<Vec<Member<'a>>> {
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 8);
    for _ in 0..count {
        let access = r.u2()?;
        let name = pool.utf8(r.u2()?)?;
        let descriptor = pool.utf8(r.u2()?)?;
        let attributes = read_attributes(r, pool)?;
        out.push(Member {
            access,
            name,
            descriptor,
            attributes,
        });
    }
    Ok(out)
}

/// A parsed class file (JVMS 4.1), with its class names resolved.
pub(crate) struct Class<'a> {
    pub(crate) minor: u16,
    pub(crate) major: u16,
    pub(crate) pool: Pool<'a>,
    pub(crate) access: u16,
    pub(crate) this_class: &'a [u8],
    pub(crate) super_class: Option<&'a [u8]>,
    pub(crate) interfaces: Vec<&'a [u8]>,
    pub(crate) fields: Vec<Member<'a>>,
    pub(crate) methods: Vec<Member<'a>>,
    pub(crate) attributes: Vec<Attribute<'a>>,
}

pub(crate) const MAGIC: u32 = 0xCAFE_BABE;

impl<'a> Class<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Class<'a>> {
        let mut r = Reader::new(bytes);
        let magic = r.u4()?;
        if magic != MAGIC {
            return Err(ClassError::BadMagic(magic));
        }
        let minor = r.u2()?;
        let major = r.u2()?;
        let pool = Pool::read(&mut r)?;
        let access = r.u2()?;
        let this_class = pool.class(r.u2()?)?;
        let super_class = pool.opt_class(r.u2()?)?;
        let count = r.u2()?;
        let mut interfaces = r.vec_for(usize::from(count), 2);
        for _ in 0..count {
            interfaces.push(pool.class(r.u2()?)?);
        }
        let fields = read_members(&mut r, &pool)?;
        let methods = read_members(&mut r, &pool)?;
        let attributes = read_attributes(&mut r, &pool)?;
        r.finish("bytes after the end of the class file")?;
        Ok(Class {
            minor,
            major,
            pool,
            access,
            this_class,
            super_class,
            interfaces,
            fields,
            methods,
            attributes,
        })
    }

    pub(crate) fn attribute(&self, name: &[u8]) -> Option<&Attribute<'a>> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// Decodes the JVM's modified UTF-8 (JVMS 4.4.7): no zero byte, NUL as `C0 80`,
/// supplementary characters as two 3-byte surrogates. A lone surrogate becomes U+FFFD.
pub(crate) fn decode_mutf8(b: &[u8]) -> Option<String> {
    if !b.iter().any(|&x| x == 0 || x >= 0x80) {
        return std::str::from_utf8(b).ok().map(str::to_owned);
    }
    let mut units: Vec<u16> = Vec::with_capacity(b.len());
    let mut i = 0;
    let cont = |j: usize| -> Option<u16> {
        let y = *b.get(j)?;
        (y & 0xC0 == 0x80).then_some(u16::from(y & 0x3F))
    };
    while i < b.len() {
        let x = b[i];
        if x == 0 {
            return None;
        } else if x < 0x80 {
            units.push(u16::from(x));
            i += 1;
        } else if x & 0xE0 == 0xC0 {
            units.push((u16::from(x & 0x1F) << 6) | cont(i + 1)?);
            i += 2;
        } else if x & 0xF0 == 0xE0 {
            units.push((u16::from(x & 0x0F) << 12) | (cont(i + 1)? << 6) | cont(i + 2)?);
            i += 3;
        } else {
            return None;
        }
    }
    Some(String::from_utf16_lossy(&units))
}

/// A constant of an annotation element or a `ConstantValue` attribute, resolved.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    Int(u32),
    Float(u32),
    Long(u64),
    Double(u64),
    Utf8(&'a [u8]),
}

/// An `element_value` (JVMS 4.7.16.1), resolved.
#[derive(Debug)]
pub(crate) enum ElementValue<'a> {
    Const(u8, Value<'a>),
    Enum { type_desc: &'a [u8], name: &'a [u8] },
    Class(&'a [u8]),
    Annotation(Annotation<'a>),
    Array(Vec<ElementValue<'a>>),
}

#[derive(Debug)]
pub(crate) struct Annotation<'a> {
    pub(crate) type_desc: &'a [u8],
    pub(crate) elements: Vec<(&'a [u8], ElementValue<'a>)>,
}

/// A `type_annotation` (JVMS 4.7.20): where it applies is kept raw (it holds no pool index).
#[derive(Debug)]
pub(crate) struct TypeAnnotation<'a> {
    pub(crate) target_type: u8,
    pub(crate) target_info: &'a [u8],
    pub(crate) type_path: &'a [u8],
    pub(crate) annotation: Annotation<'a>,
}

/// Nested annotations and arrays deeper than this are refused rather than recursed into.
const MAX_DEPTH: u32 = 64;

fn read_annotation<'a>(r: &mut Reader<'a>, pool: &Pool<'a>, depth: u32) -> Result<Annotation<'a>> {
    let type_desc = pool.utf8(r.u2()?)?;
    let count = r.u2()?;
    let mut elements = r.vec_for(usize::from(count), 5);
    for _ in 0..count {
        let name = pool.utf8(r.u2()?)?;
        elements.push((name, read_element_value(r, pool, depth)?));
    }
    Ok(Annotation {
        type_desc,
        elements,
    })
}

fn read_element_value<'a>(
    r: &mut Reader<'a>,
    pool: &Pool<'a>,
    depth: u32,
) -> Result<ElementValue<'a>> {
    if depth > MAX_DEPTH {
        return Err(ClassError::Malformed("annotation values nested too deeply"));
    }
    let tag = r.u1()?;
    Ok(match tag {
        b'B' | b'C' | b'I' | b'S' | b'Z' | b'D' | b'F' | b'J' | b's' => {
            let index = r.u2()?;
            let value = match (tag, pool.get(index, "annotation constant")?) {
                (b'B' | b'C' | b'I' | b'S' | b'Z', Constant::Integer(v)) => Value::Int(v),
                (b'D', Constant::Double(v)) => Value::Double(v),
                (b'F', Constant::Float(v)) => Value::Float(v),
                (b'J', Constant::Long(v)) => Value::Long(v),
                (b's', Constant::Utf8(v)) => Value::Utf8(v),
                _ => {
                    return Err(ClassError::BadConstantIndex {
                        index,
                        expected: "annotation constant",
                    })
                }
            };
            ElementValue::Const(tag, value)
        }
        b'e' => ElementValue::Enum {
            type_desc: pool.utf8(r.u2()?)?,
            name: pool.utf8(r.u2()?)?,
        },
        b'c' => ElementValue::Class(pool.utf8(r.u2()?)?),
        b'@' => ElementValue::Annotation(read_annotation(r, pool, depth + 1)?),
        b'[' => {
            let count = r.u2()?;
            let mut values = r.vec_for(usize::from(count), 3);
            for _ in 0..count {
                values.push(read_element_value(r, pool, depth + 1)?);
            }
            ElementValue::Array(values)
        }
        _ => return Err(ClassError::Malformed("unknown annotation element tag")),
    })
}

/// `RuntimeVisibleAnnotations`, `RuntimeInvisibleAnnotations`.
pub(crate) fn parse_annotations<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<Annotation<'a>>> {
    let mut r = Reader::new(data);
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 4);
    for _ in 0..count {
        out.push(read_annotation(&mut r, pool, 0)?);
    }
    r.finish("annotations attribute longer than its contents")?;
    Ok(out)
}

/// `RuntimeVisibleParameterAnnotations`, `RuntimeInvisibleParameterAnnotations`.
pub(crate) fn parse_parameter_annotations<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<Vec<Annotation<'a>>>> {
    let mut r = Reader::new(data);
    let params = r.u1()?;
    let mut out = r.vec_for(usize::from(params), 2);
    for _ in 0..params {
        let count = r.u2()?;
        let mut annotations = r.vec_for(usize::from(count), 4);
        for _ in 0..count {
            annotations.push(read_annotation(&mut r, pool, 0)?);
        }
        out.push(annotations);
    }
    r.finish("parameter annotations attribute longer than its contents")?;
    Ok(out)
}

/// `RuntimeVisibleTypeAnnotations`, `RuntimeInvisibleTypeAnnotations`.
pub(crate) fn parse_type_annotations<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<TypeAnnotation<'a>>> {
    let mut r = Reader::new(data);
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 7);
    for _ in 0..count {
        let target_type = r.u1()?;
        let info_len = match target_type {
            0x00 | 0x01 | 0x16 => 1,
            0x10 | 0x11 | 0x12 | 0x17 | 0x42..=0x46 => 2,
            0x13..=0x15 => 0,
            0x47..=0x4B => 3,
            0x40 | 0x41 => {
                // localvar_target: a table of (start_pc, length, index).
                let mut peek = Reader::new(&data[r.pos..]);
                2 + 6 * usize::from(peek.u2()?)
            }
            _ => return Err(ClassError::Malformed("unknown type annotation target")),
        };
        let target_info = r.bytes(info_len)?;
        let mut peek = Reader::new(&data[r.pos..]);
        let path_len = peek.u1()?;
        let type_path = r.bytes(1 + 2 * usize::from(path_len))?;
        let annotation = read_annotation(&mut r, pool, 0)?;
        out.push(TypeAnnotation {
            target_type,
            target_info,
            type_path,
            annotation,
        });
    }
    r.finish("type annotations attribute longer than its contents")?;
    Ok(out)
}

/// `AnnotationDefault`: one element value.
pub(crate) fn parse_element_value<'a>(data: &'a [u8], pool: &Pool<'a>) -> Result<ElementValue<'a>> {
    let mut r = Reader::new(data);
    let value = read_element_value(&mut r, pool, 0)?;
    r.finish("AnnotationDefault attribute longer than its value")?;
    Ok(value)
}

/// One `InnerClasses` entry (JVMS 4.7.6).
pub(crate) struct InnerClass<'a> {
    pub(crate) inner: &'a [u8],
    pub(crate) outer: Option<&'a [u8]>,
    pub(crate) name: Option<&'a [u8]>,
    pub(crate) access: u16,
}

pub(crate) fn parse_inner_classes<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<InnerClass<'a>>> {
    let mut r = Reader::new(data);
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 8);
    for _ in 0..count {
        out.push(InnerClass {
            inner: pool.class(r.u2()?)?,
            outer: pool.opt_class(r.u2()?)?,
            name: pool.opt_utf8(r.u2()?)?,
            access: r.u2()?,
        });
    }
    r.finish("InnerClasses attribute longer than its entries")?;
    Ok(out)
}

/// A `u2` count followed by that many `Class` indices (`Exceptions`, `NestMembers`,
/// `PermittedSubclasses`).
pub(crate) fn parse_class_list<'a>(data: &'a [u8], pool: &Pool<'a>) -> Result<Vec<&'a [u8]>> {
    let mut r = Reader::new(data);
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 2);
    for _ in 0..count {
        out.push(pool.class(r.u2()?)?);
    }
    r.finish("class list attribute longer than its entries")?;
    Ok(out)
}

/// A `Record` attribute's components (JVMS 4.7.30), with their own attributes.
pub(crate) struct RecordComponent<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) descriptor: &'a [u8],
    pub(crate) attributes: Vec<Attribute<'a>>,
}

pub(crate) fn parse_record<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<RecordComponent<'a>>> {
    let mut r = Reader::new(data);
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 6);
    for _ in 0..count {
        out.push(RecordComponent {
            name: pool.utf8(r.u2()?)?,
            descriptor: pool.utf8(r.u2()?)?,
            attributes: read_attributes(&mut r, pool)?,
        });
    }
    r.finish("Record attribute longer than its components")?;
    Ok(out)
}

/// What a `Code` attribute (JVMS 4.7.3) carries besides its bytecode: its own attributes.
pub(crate) fn parse_code_attributes<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<Attribute<'a>>> {
    let mut r = Reader::new(data);
    r.bytes(4)?; // max_stack, max_locals
    let code_len = r.u4()?;
    r.bytes(usize::try_from(code_len).map_err(|_| ClassError::Truncated)?)?;
    let handlers = r.u2()?;
    r.bytes(8 * usize::from(handlers))?;
    let attributes = read_attributes(&mut r, pool)?;
    r.finish("Code attribute longer than its contents")?;
    Ok(attributes)
}

/// The descriptor (`LocalVariableTable`) or signature (`LocalVariableTypeTable`) of each
/// local variable entry.
pub(crate) fn parse_local_variable_types<'a>(
    data: &'a [u8],
    pool: &Pool<'a>,
) -> Result<Vec<&'a [u8]>> {
    let mut r = Reader::new(data);
    let count = r.u2()?;
    let mut out = r.vec_for(usize::from(count), 10);
    for _ in 0..count {
        r.bytes(6)?; // start_pc, length, name_index
        let descriptor = pool.utf8(r.u2()?)?;
        r.bytes(2)?; // index
        out.push(descriptor);
    }
    r.finish("local variable table longer than its entries")?;
    Ok(out)
}
