//! Compiles `proto/wal.proto` with prost. protox parses the proto in pure Rust,
//! so no system `protoc` is needed on a fresh machine.
fn main() {
    println!("cargo:rerun-if-changed=proto/wal.proto");
    let fds = match protox::compile(["proto/wal.proto"], ["proto"]) {
        Ok(fds) => fds,
        Err(e) => panic!("cannot parse proto/wal.proto: {e}"),
    };
    let mut config = prost_build::Config::new();
    if let Err(e) = config.compile_fds(fds) {
        panic!("cannot generate Rust from proto/wal.proto: {e}");
    }
}
