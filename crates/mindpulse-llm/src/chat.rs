//! Chat prompts: renders the GGUF's `tokenizer.chat_template` (Jinja, as Hugging Face
//! renders it: trim_blocks, lstrip_blocks, Python string methods, `raise_exception`) with
//! minijinja; ChatML and Llama 3 fallbacks for files without a template.

use crate::{ChatMessage, LlmError};
use minijinja::{context, Environment, Error, ErrorKind};

/// How to build a prompt for one model.
#[derive(Debug, Clone)]
pub enum ChatFormat {
    /// A Jinja template from the file.
    Template(String),
    /// `<|im_start|>role\ncontent<|im_end|>\n` (Qwen, SmolLM, …).
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`.
    Llama3,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, msg))
    });
    env.add_function("strftime_now", |fmt: String| -> String {
        chrono::Local::now().format(&fmt).to_string()
    });
    env
}

/// Renders `messages`; `bos`/`eos` are the texts of the file's BOS/EOS tokens.
pub fn render(
    format: &ChatFormat,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    bos: &str,
    eos: &str,
) -> Result<String, LlmError> {
    match format {
        ChatFormat::Template(src) => {
            let env = environment();
            let tmpl = env.template_from_str(src).map_err(|e| {
                LlmError::Template(format!("chat template does not compile: {e:#}"))
            })?;
            tmpl.render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => bos,
                eos_token => eos,
            })
            .map_err(|e| LlmError::Template(format!("chat template: {e:#}")))
        }
        ChatFormat::ChatMl => {
            let mut s = String::new();
            for m in messages {
                s.push_str(&format!(
                    "<|im_start|>{}\n{}<|im_end|>\n",
                    m.role, m.content
                ));
            }
            if add_generation_prompt {
                s.push_str("<|im_start|>assistant\n");
            }
            Ok(s)
        }
        ChatFormat::Llama3 => {
            let mut s = bos.to_string();
            for m in messages {
                s.push_str(&format!(
                    "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                    m.role,
                    m.content.trim()
                ));
            }
            if add_generation_prompt {
                s.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            Ok(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs() -> Vec<ChatMessage> {
        vec![
            ChatMessage::new("system", "Be brief."),
            ChatMessage::new("user", "Hi"),
        ]
    }

    /// The shape of Qwen2.5's template (system message handling, loop, generation prompt).
    const QWEN_LIKE: &str = "{%- if messages[0]['role'] == 'system' %}\n    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n{%- else %}\n    {{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message.role != 'system' %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + '<|im_end|>' + '\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";

    #[test]
    fn template_and_chatml_fallback_agree() {
        let t = render(
            &ChatFormat::Template(QWEN_LIKE.into()),
            &msgs(),
            true,
            "",
            "",
        )
        .expect("render");
        let f = render(&ChatFormat::ChatMl, &msgs(), true, "", "").expect("render");
        assert_eq!(t, f);
        assert_eq!(
            f,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let no_sys = render(
            &ChatFormat::Template(QWEN_LIKE.into()),
            &[ChatMessage::new("user", "Hi")],
            false,
            "",
            "",
        )
        .expect("render");
        assert!(no_sys.starts_with("<|im_start|>system\nYou are Qwen.<|im_end|>\n"));
        assert!(no_sys.ends_with("Hi<|im_end|>\n"));
    }

    #[test]
    fn template_errors_are_reported() {
        let e = render(
            &ChatFormat::Template("{% if %}".into()),
            &msgs(),
            true,
            "",
            "",
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not compile"), "{e}");
        let e = render(
            &ChatFormat::Template("{{ raise_exception('roles must alternate') }}".into()),
            &msgs(),
            true,
            "",
            "",
        )
        .unwrap_err();
        assert!(e.to_string().contains("roles must alternate"), "{e}");
    }

    #[test]
    fn llama3_fallback() {
        let s =
            render(&ChatFormat::Llama3, &msgs(), true, "<|begin_of_text|>", "").expect("render");
        assert_eq!(s, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }
}
