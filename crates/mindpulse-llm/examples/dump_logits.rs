//! Prints the next-token logits after a raw prompt as JSON (for checks against a reference).
//!
//! ```sh
//! cargo run --release -p mindpulse-llm --example dump_logits -- smollm2-135m "Hello world" > logits.json
//! ```

use mindpulse_llm::{Llm, LlmOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model), Some(text)) = (args.get(1), args.get(2)) else {
        return Err("usage: dump_logits MODEL TEXT".into());
    };
    let path = mindpulse_models::resolve(model)?.main_file;
    let llm = Llm::load(&path, &LlmOptions::default())?;
    let ids = llm.tokenize(text, true)?;
    let logits = llm.session().feed(&ids)?;
    println!("{}", serde_json::json!({ "ids": ids, "logits": logits }));
    Ok(())
}
