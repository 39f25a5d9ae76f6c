fn main() -> std::process::ExitCode {
    tunesmith::cli::main()
}
