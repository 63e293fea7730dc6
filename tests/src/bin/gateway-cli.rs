//! The `interop-gateway` command line ([`interop_gateway::main`]), built inside the
//! test package so that cargo builds it before the end-to-end tests that run it
//! (`CARGO_BIN_EXE_gateway-cli`).

fn main() -> std::process::ExitCode {
    interop_gateway::main()
}
