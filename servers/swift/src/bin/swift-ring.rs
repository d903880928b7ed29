//! `swift-ring`: build and inspect rings (see `swift_server::ring_cli`).

fn main() -> std::process::ExitCode {
    match swift_server::ring_cli::run(std::env::args().collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swift-ring: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
