//! The classes a class file refers to, for [`crate::referenced_classes`]: `Class` constants,
//! and the class names inside descriptors (JVMS 4.3) and generic signatures (JVMS 4.7.9.1).

use std::collections::{BTreeSet, HashSet};

use crate::reader::{
    parse_annotations, parse_code_attributes, parse_element_value, parse_local_variable_types,
    parse_parameter_annotations, parse_record, parse_type_annotations, Annotation, Attribute,
    Class, Constant, ElementValue, Pool,
};
use crate::ClassError;

type Result<T> = std::result::Result<T, ClassError>;

struct Names<'a> {
    found: BTreeSet<String>,
    /// The descriptors and signatures already read, by their place in the input: a forged
    /// class could refer to one long signature from thousands of attributes.
    scanned: HashSet<(*const u8, usize)>,
    /// The bytes of names it may still record (see `abi::Budget`): `La.b.c...;` names
    /// `a$b`, `a$b$c`, ..., quadratic in the signature's length.
    budget: usize,
    _input: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> Names<'a> {
    fn new(input_len: usize) -> Self {
        Names {
            found: BTreeSet::new(),
            scanned: HashSet::new(),
            budget: input_len.saturating_mul(64).saturating_add(4096),
            _input: std::marker::PhantomData,
        }
    }

    fn insert(&mut self, name: &[u8]) -> Result<()> {
        record(&mut self.found, &mut self.budget, crate::name(name)).map_err(|_| too_many())
    }

    /// The classes in a descriptor or a signature of any kind.
    fn signature(&mut self, s: &'a [u8]) -> Result<()> {
        if !self.scanned.insert((s.as_ptr(), s.len())) {
            return Ok(());
        }
        let text = crate::name(s);
        let mut p = SigParser {
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
            out: &mut self.found,
            budget: &mut self.budget,
        };
        p.any().map_err(|stop| match stop {
            Stop::Malformed => bad_signature(s),
            Stop::Budget => too_many(),
        })
    }

    fn annotation(&mut self, a: &Annotation<'a>) -> Result<()> {
        self.signature(a.type_desc)?;
        for (_, v) in &a.elements {
            self.element_value(v)?;
        }
        Ok(())
    }

    fn element_value(&mut self, v: &ElementValue<'a>) -> Result<()> {
        match v {
            ElementValue::Const(..) => Ok(()),
            ElementValue::Enum { type_desc, .. } => self.signature(type_desc),
            // A class literal is a return descriptor: `void.class` is `V`.
            ElementValue::Class(b"V") => Ok(()),
            ElementValue::Class(desc) => self.signature(desc),
            ElementValue::Annotation(a) => self.annotation(a),
            ElementValue::Array(values) => values.iter().try_for_each(|v| self.element_value(v)),
        }
    }

    /// Signatures and annotations on a class, member or record component; a `Code`
    /// attribute's local variable types and type annotations.
    fn attributes(&mut self, attributes: &[Attribute<'a>], pool: &Pool<'a>) -> Result<()> {
        for a in attributes {
            match a.name {
                b"Signature" => {
                    let mut r = crate::reader::Reader::new(a.data);
                    self.signature(pool.utf8(r.u2()?)?)?;
                }
                b"RuntimeVisibleAnnotations" | b"RuntimeInvisibleAnnotations" => {
                    for x in parse_annotations(a.data, pool)? {
                        self.annotation(&x)?;
                    }
                }
                b"RuntimeVisibleParameterAnnotations" | b"RuntimeInvisibleParameterAnnotations" => {
                    for x in parse_parameter_annotations(a.data, pool)?.iter().flatten() {
                        self.annotation(x)?;
                    }
                }
                b"RuntimeVisibleTypeAnnotations" | b"RuntimeInvisibleTypeAnnotations" => {
                    for x in parse_type_annotations(a.data, pool)? {
                        self.annotation(&x.annotation)?;
                    }
                }
                b"AnnotationDefault" => self.element_value(&parse_element_value(a.data, pool)?)?,
                b"LocalVariableTable" | b"LocalVariableTypeTable" => {
                    for d in parse_local_variable_types(a.data, pool)? {
                        self.signature(d)?;
                    }
                }
                b"Code" => self.attributes(&parse_code_attributes(a.data, pool)?, pool)?,
                b"Record" => {
                    for c in parse_record(a.data, pool)? {
                        self.signature(c.descriptor)?;
                        self.attributes(&c.attributes, pool)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Adds a name, unless the budget for names is spent.
fn record(
    found: &mut BTreeSet<String>,
    budget: &mut usize,
    name: String,
) -> std::result::Result<(), Stop> {
    if found.contains(&name) {
        return Ok(());
    }
    *budget = budget.checked_sub(name.len()).ok_or(Stop::Budget)?;
    found.insert(name);
    Ok(())
}

fn too_many() -> ClassError {
    ClassError::Malformed("class names out of proportion to the class file")
}

fn bad_signature(s: &[u8]) -> ClassError {
    ClassError::BadSignature(String::from_utf8_lossy(s).into_owned())
}

pub(crate) fn referenced_classes(bytes: &[u8]) -> Result<Vec<String>> {
    let class = Class::parse(bytes)?;
    let pool = &class.pool;
    let mut names = Names::new(bytes.len());
    for c in pool.entries() {
        match *c {
            Constant::Class(i) => {
                let name = pool.utf8(i)?;
                if name.first() == Some(&b'[') {
                    names.signature(name)?;
                } else {
                    names.insert(name)?;
                }
            }
            Constant::NameAndType { descriptor, .. } => names.signature(pool.utf8(descriptor)?)?,
            Constant::MethodType(d) => names.signature(pool.utf8(d)?)?,
            _ => {}
        }
    }
    for m in class.fields.iter().chain(&class.methods) {
        names.signature(m.descriptor)?;
        names.attributes(&m.attributes, pool)?;
    }
    names.attributes(&class.attributes, pool)?;
    names.found.remove(&crate::name(class.this_class));
    Ok(names.found.into_iter().collect())
}

/// Nesting (type arguments inside type arguments) deeper than this is refused.
const MAX_DEPTH: u32 = 128;

/// A recursive-descent reader of the signature grammar, which includes descriptors. It
/// records every class it meets; for `Lp/Outer<TT;>.Inner;` both `p/Outer` and
/// `p/Outer$Inner`.
struct SigParser<'s, 'o> {
    s: &'s [u8],
    pos: usize,
    depth: u32,
    out: &'o mut BTreeSet<String>,
    budget: &'o mut usize,
}

/// Why the parser stopped.
#[derive(Debug)]
enum Stop {
    Malformed,
    Budget,
}

type Parsed = std::result::Result<(), Stop>;

impl SigParser<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Parsed {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Stop::Malformed)
        }
    }

    /// A field descriptor or signature, a method descriptor or signature, or a class
    /// signature (type parameters, then the superclass and interfaces).
    fn any(&mut self) -> Parsed {
        if self.peek() == Some(b'<') {
            self.type_parameters()?;
        }
        if self.peek() == Some(b'(') {
            self.pos += 1;
            while self.peek() != Some(b')') {
                self.java_type()?;
            }
            self.pos += 1;
            if self.peek() == Some(b'V') {
                self.pos += 1;
            } else {
                self.java_type()?;
            }
            while self.peek() == Some(b'^') {
                self.pos += 1;
                self.reference_type()?;
            }
        } else {
            if self.peek().is_none() {
                return Err(Stop::Malformed);
            }
            while self.peek().is_some() {
                self.java_type()?;
            }
        }
        if self.pos == self.s.len() {
            Ok(())
        } else {
            Err(Stop::Malformed)
        }
    }

    /// An identifier: up to the next character the grammar reserves. `/` is allowed where
    /// it separates a package from a class name.
    fn identifier(&mut self, slash_ok: bool) -> std::result::Result<&str, Stop> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'.' | b';' | b'[' | b'<' | b'>' | b':' => break,
                b'/' if !slash_ok => break,
                _ => self.pos += 1,
            }
        }
        if self.pos == start {
            return Err(Stop::Malformed);
        }
        // The delimiters are ASCII, so both ends are character boundaries.
        std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| Stop::Malformed)
    }

    fn type_parameters(&mut self) -> Parsed {
        self.pos += 1; // '<'
        loop {
            self.identifier(false)?;
            self.expect(b':')?;
            // The class bound may be empty (an interface bound follows).
            if matches!(self.peek(), Some(b'L' | b'T' | b'[')) {
                self.reference_type()?;
            }
            while self.peek() == Some(b':') {
                self.pos += 1;
                self.reference_type()?;
            }
            if self.peek() == Some(b'>') {
                self.pos += 1;
                return Ok(());
            }
        }
    }

    fn java_type(&mut self) -> Parsed {
        match self.peek() {
            Some(b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z') => {
                self.pos += 1;
                Ok(())
            }
            _ => self.reference_type(),
        }
    }

    fn reference_type(&mut self) -> Parsed {
        match self.peek() {
            Some(b'L') => self.class_type(),
            Some(b'T') => {
                self.pos += 1;
                self.identifier(false)?;
                self.expect(b';')
            }
            Some(b'[') => {
                while self.peek() == Some(b'[') {
                    self.pos += 1;
                }
                self.java_type()
            }
            _ => Err(Stop::Malformed),
        }
    }

    fn class_type(&mut self) -> Parsed {
        if self.depth >= MAX_DEPTH {
            return Err(Stop::Malformed);
        }
        self.depth += 1;
        self.pos += 1; // 'L'
        let mut name = self.identifier(true)?.to_owned();
        record(self.out, self.budget, name.clone())?;
        if self.peek() == Some(b'<') {
            self.type_arguments()?;
        }
        while self.peek() == Some(b'.') {
            self.pos += 1;
            name.push('$');
            name.push_str(self.identifier(false)?);
            record(self.out, self.budget, name.clone())?;
            if self.peek() == Some(b'<') {
                self.type_arguments()?;
            }
        }
        self.depth -= 1;
        self.expect(b';')
    }

    fn type_arguments(&mut self) -> Parsed {
        self.pos += 1; // '<'
        if self.peek() == Some(b'>') {
            return Err(Stop::Malformed);
        }
        while self.peek() != Some(b'>') {
            match self.peek() {
                Some(b'*') => self.pos += 1,
                Some(b'+' | b'-') => {
                    self.pos += 1;
                    self.reference_type()?;
                }
                _ => self.reference_type()?,
            }
        }
        self.pos += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(sig: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        let mut budget = usize::MAX;
        let mut p = SigParser {
            s: sig.as_bytes(),
            pos: 0,
            depth: 0,
            out: &mut out,
            budget: &mut budget,
        };
        p.any()
            .unwrap_or_else(|e| panic!("{sig} did not parse: {e:?}"));
        out.into_iter().collect()
    }

    #[test]
    fn descriptors_and_signatures() {
        assert_eq!(classes("I"), Vec::<String>::new());
        assert_eq!(classes("[[Ljava/lang/String;"), ["java/lang/String"]);
        assert_eq!(
            classes("(I[JLjava/util/List;)Ljava/lang/Object;"),
            ["java/lang/Object", "java/util/List"]
        );
        assert_eq!(
            classes("<T:Ljava/lang/Object;L::Ljava/lang/Comparable<-TT;>;>(TT;)TL;^Ljava/io/IOException;^TT;"),
            ["java/io/IOException", "java/lang/Comparable", "java/lang/Object"]
        );
        assert_eq!(
            classes("Ljava/lang/Enum<Lp/E;>;Ljava/util/Map$Entry<**>;"),
            ["java/lang/Enum", "java/util/Map$Entry", "p/E"]
        );
        assert_eq!(
            classes("Lp/Outer<TT;>.Inner<+Lq/X;>.Deep;"),
            ["p/Outer", "p/Outer$Inner", "p/Outer$Inner$Deep", "q/X"]
        );
        assert_eq!(
            classes("<K:Ljava/lang/Object;V:Ljava/lang/Object;>Ljava/lang/Object;").len(),
            1
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        for bad in [
            "",
            "L;",
            "Ljava/lang/String",
            "(I",
            "(I)",
            "<T>V",
            "Lp/A<>;",
            "Q",
            "TT",
            "II)",
        ] {
            let mut out = BTreeSet::new();
            let mut budget = usize::MAX;
            let mut p = SigParser {
                s: bad.as_bytes(),
                pos: 0,
                depth: 0,
                out: &mut out,
                budget: &mut budget,
            };
            assert!(p.any().is_err(), "{bad:?} parsed");
        }
        let deep = format!("{}{}", "Lp/A<".repeat(10_000), ">;".repeat(10_000));
        let mut out = BTreeSet::new();
        let mut budget = usize::MAX;
        let mut p = SigParser {
            s: deep.as_bytes(),
            pos: 0,
            depth: 0,
            out: &mut out,
            budget: &mut budget,
        };
        assert!(matches!(p.any(), Err(Stop::Malformed)));
        // `La.b.c...;` names a$b, a$b$c, ...: quadratic, so bounded.
        let long = format!("La{};", ".b".repeat(30_000));
        let mut out = BTreeSet::new();
        let mut budget = 1 << 20;
        let mut p = SigParser {
            s: long.as_bytes(),
            pos: 0,
            depth: 0,
            out: &mut out,
            budget: &mut budget,
        };
        assert!(matches!(p.any(), Err(Stop::Budget)));
    }
}
