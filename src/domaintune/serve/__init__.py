"""Serving and export: an OpenAI-compatible server with continuous batching and LoRA adapters,
hf/gguf/ollama export, and a terminal chat (see docs/serving.md).

Entry points (import them from their modules; torch loads only when they are used):
  loading.load_served(model_or_run, adapters) -> (model, {name: Served})
  engine.Engine(model, served, max_batch=16).start()       the batching engine
  server.create_app(engine, api_key=...) / run_server(...)  the HTTP face
  stage.export_model(model_or_run, out, fmt="hf"|"gguf"|"ollama", quant="f16"|"q8_0")
  chat.chat_loop(engine, name)
"""
