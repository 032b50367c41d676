//! A reader of JVM class files (JVMS chapter 4) for incremental compilation: what a class
//! exposes to the compilation of other classes ([`abi_digest`]), and which classes it uses
//! ([`referenced_classes`]).
//!
//! # The ABI digest
//!
//! When a class is recompiled, the classes that depend on it need recompiling only if
//! something their *compilation* can observe has changed. [`abi_digest`] hashes exactly
//! that, in a canonical encoding that does not depend on the order of the constant pool
//! (every pool index is resolved to the value it names) nor on the order of members or
//! attributes (both are sorted). It holds:
//!
//! - the class file version, the class's name, access flags, superclass and interfaces (in
//!   order), and its generic `Signature`;
//! - every field and method that is not private, sorted by name and descriptor: name,
//!   descriptor, access flags, and the attributes below. Package-private members count:
//!   classes of the same package see them;
//! - `ConstantValue` of fields: javac inlines compile-time constants into the classes that
//!   use them, so a changed value must reach them;
//! - `Signature` (generics), `Exceptions` (throws clauses), `AnnotationDefault`,
//!   `MethodParameters`, `Deprecated` (it produces warnings, errors under `-Werror`);
//! - annotations with `CLASS` or `RUNTIME` retention on the class, its members, parameters
//!   and record components, and type annotations (`Runtime{Visible,Invisible}*Annotations`),
//!   their element values resolved: annotation processors and checkers read them;
//! - nesting: the class's own `InnerClasses` entry (a nested class's real access flags and
//!   simple name live only there), the entries of its member classes, `EnclosingMethod`,
//!   `NestHost`, `NestMembers`;
//! - `PermittedSubclasses` (sealed types: switches over them are checked for exhaustiveness),
//!   `Record` components (the canonical constructor and accessors), and for `module-info`
//!   the `Module`, `ModulePackages` and `ModuleMainClass` attributes;
//! - any attribute this crate does not know, on the class, a visible member or a record
//!   component, as its raw bytes: a missed ABI change is a wrong build, a spurious one only
//!   a slower build.
//!
//! It leaves out what no other compilation unit can observe:
//!
//! - method bodies (`Code`, with its `StackMapTable`, line and local variable tables) and
//!   `BootstrapMethods`, which only bodies use;
//! - private members: the Java language does not let another class name them;
//! - synthetic members (`ACC_SYNTHETIC` or a `Synthetic` attribute): bridges, lambda
//!   bodies, the `access$NNN` accessors javac wrote before Java 11 when a nested class used
//!   a private member, `this$0`, `$assertionsDisabled`. javac's lookups skip them, and they
//!   come and go with private members and bodies;
//! - the static initializer `<clinit>`, which nothing can call (it appears when a private
//!   static field gets an initializer);
//! - `InnerClasses` entries of classes this class merely uses, and nested classes no one
//!   else can name: local and anonymous classes (`Outer$1`, the synthetic `Outer$1` of an
//!   enum switch) and private member classes, both from `InnerClasses` and `NestMembers`;
//! - `SourceFile` and `SourceDebugExtension`, the constant pool's order and its unused
//!   entries.
//!
//! What this digest cannot catch is the classic hole of class-based incremental
//! compilation: a class that uses another's compile-time constant holds no reference to it
//! after javac inlined the value, so [`referenced_classes`] of the user does not show the
//! constant's class. A caller that sees a digest change in a class with a non-private
//! `static final` constant field should recompile more widely (the whole module, say).
//!
//! # Robustness
//!
//! Every function takes arbitrary bytes: it returns a [`ClassError`] for anything malformed
//! and never panics, and it never reserves memory for a count beyond what the bytes present
//! could hold. Nesting (annotations in annotations, type arguments in type arguments) is
//! bounded, and so is amplification: a forged class file that refers to one long string
//! from thousands of places, so that its encoding or its names would be out of proportion
//! to its size (64 times, far beyond any real class), is refused as
//! [`ClassError::Malformed`]. Every class file version is accepted; what is read is the structure of Java 21
//! and later (no constant pool tag has been added since Java 11).

mod abi;
mod reader;
mod refs;

/// Why a class file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClassError {
    /// The input ends in the middle of a structure.
    #[error("truncated class file")]
    Truncated,
    /// The input does not start with `0xCAFEBABE`.
    #[error("bad magic number {0:#010x}: not a class file")]
    BadMagic(u32),
    /// A constant pool index is 0, out of range, the unusable slot after a long or double,
    /// or an entry of the wrong kind.
    #[error("bad constant pool index {index} (expected {expected})")]
    BadConstantIndex { index: u16, expected: &'static str },
    /// A constant pool tag the JVM specification does not define.
    #[error("unsupported constant pool tag {tag} at index {index}")]
    UnsupportedTag { tag: u8, index: u16 },
    /// A descriptor or generic signature that does not follow its grammar.
    #[error("malformed descriptor or signature {0:?}")]
    BadSignature(String),
    /// Any other structural error.
    #[error("malformed class file: {0}")]
    Malformed(&'static str),
}

/// The sha256 of a canonical encoding of this class's ABI: everything the compilation of a
/// class that uses it can observe (see the [crate documentation](crate)). Equal digests
/// mean dependents need not be recompiled.
pub fn abi_digest(class_bytes: &[u8]) -> Result<[u8; 32], ClassError> {
    abi::abi_digest(class_bytes)
}

/// The internal names (`java/util/Map$Entry`) of every class this class file refers to,
/// sorted and without duplicates, and without the class itself: its `Class` constants
/// (array classes reduced to their element class), and the classes named in descriptors and
/// generic signatures: of its fields, methods, `NameAndType` and `MethodType` constants,
/// record components, local variables (when compiled with `-g`), and of its annotations
/// (their types, enum element types and class literals). A class used only inside a method
/// body is found.
pub fn referenced_classes(class_bytes: &[u8]) -> Result<Vec<String>, ClassError> {
    refs::referenced_classes(class_bytes)
}

/// The internal name of this class (`this_class`), like `com/example/Outer$Inner`, or
/// `module-info`.
pub fn class_name(class_bytes: &[u8]) -> Result<String, ClassError> {
    let class = reader::Class::parse(class_bytes)?;
    Ok(name(class.this_class))
}

/// The internal names of this class's direct supertypes: its superclass (none for
/// `java/lang/Object` and `module-info`), then its interfaces in order.
pub fn supertypes(class_bytes: &[u8]) -> Result<Vec<String>, ClassError> {
    let class = reader::Class::parse(class_bytes)?;
    Ok(class
        .super_class
        .into_iter()
        .chain(class.interfaces.iter().copied())
        .map(name)
        .collect())
}

/// The compile-time constants this class offers other classes: each field that is not
/// private and has a `ConstantValue` (javac inlines those into their users), as
/// `name:descriptor` and a text of its value, sorted. Their users' constant pools need not
/// name this class, so a change here must reach users that [`referenced_classes`] misses.
pub fn constant_fields(class_bytes: &[u8]) -> Result<Vec<(String, String)>, ClassError> {
    abi::constant_fields(class_bytes)
}

/// The `SourceFile` attribute: the name (without directories) of the source file this class
/// was compiled from, when the compiler recorded it (javac does unless `-g:none`).
pub fn source_file(class_bytes: &[u8]) -> Result<Option<String>, ClassError> {
    let class = reader::Class::parse(class_bytes)?;
    let Some(a) = class.attribute(b"SourceFile") else {
        return Ok(None);
    };
    let mut r = reader::Reader::new(a.data);
    let file = class.pool.utf8(r.u2()?)?;
    r.finish("SourceFile attribute longer than 2 bytes")?;
    Ok(Some(name(file)))
}

/// A name from the constant pool as a Rust string. Malformed modified UTF-8 (which the JVM
/// would refuse to load) is decoded lossily rather than refused.
pub(crate) fn name(b: &[u8]) -> String {
    reader::decode_mutf8(b).unwrap_or_else(|| String::from_utf8_lossy(b).into_owned())
}
