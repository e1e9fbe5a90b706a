fn main() {
    eprintln!("mcp-example-server: not built yet");
    std::process::exit(1)
}
