//! Links the libraries that Debian's static librocksdb.a needs (see the workspace .cargo/config.toml: kbuild
//! links RocksDB statically, which saves the dynamic loader's symbol resolution of a large C++
//! library at every start — a no-op build is mostly start-up).
fn main() {
    if std::env::var_os("ROCKSDB_STATIC").is_some() {
        for lib in ["snappy", "z", "bz2", "lz4", "zstd"] {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }
    println!("cargo:rerun-if-env-changed=ROCKSDB_STATIC");
}
