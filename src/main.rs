//! The `latentscope` command-line tool.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // The exit status of the first typed error in the chain
            // (docs/errors.md), else 1.
            let code = e
                .chain()
                .find_map(|c| c.downcast_ref::<latentscope::Error>())
                .map_or(1, latentscope::Error::exit_code);
            ExitCode::from(code)
        }
    }
}
