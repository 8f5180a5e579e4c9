import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createEngine, workflow } from 'flowstate';
import { llmAgent } from 'flowstate/ai';
import { z } from 'zod';

// Any OpenAI-compatible server: llama.cpp's llama-server, Ollama, vLLM, LM Studio...
const local = createOpenAICompatible({
  name: 'local',
  baseURL: process.env.LLM_URL ?? 'http://127.0.0.1:8080/v1',
  supportsStructuredOutputs: true, // send the answer's JSON Schema as response_format
});

const Ticket = z.object({ subject: z.string(), body: z.string() });

const triage = llmAgent({
  model: local.chatModel(process.env.LLM_MODEL ?? 'qwen2.5-7b-instruct'),
  system: 'You route support tickets to a team.',
  prompt: (t: z.infer<typeof Ticket>) => `Subject: ${t.subject}\n\n${t.body}`,
  output: z.object({ team: z.enum(['billing', 'bugs', 'sales']), urgent: z.boolean() }),
});

const support = workflow('support', { input: Ticket })
  // The engine retries: a 429 waits at least its retry-after, a 5xx backs off, a 4xx or a bad answer fails at once.
  .step('triage', { retry: { attempts: 3, initialMs: 500 }, timeoutMs: 30_000 })
  .build();

const run = createEngine({ agents: { triage } }).start(support, {
  subject: 'Charged twice',
  body: 'My card was charged twice for order 1042.',
});
run.events$.subscribe((e) => {
  if (e.type === 'done' && e.usage) console.log(`${e.path}: ${e.usage.totalTokens} tokens`);
});
console.log(await run.result);
