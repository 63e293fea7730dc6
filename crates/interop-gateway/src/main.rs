//! `interop-gateway`: see [`interop_gateway`].

// A request allocates dozens of small, short-lived buffers on whichever worker thread
// serves it; mimalloc's per-thread free lists cost a fraction of glibc malloc's locking
// there (measured in bench/read_api.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    interop_gateway::main()
}
