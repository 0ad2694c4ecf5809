// client.mjs drives `aimdb mcp` with the official TypeScript MCP SDK
// client over stdio, and prints a JSON report on stdout for the Go test
// (TestMCPTypeScript in cmd/aimdb/mcp_ts_test.go) to check.
//
//	node client.mjs <aimdb binary> <aimdb arguments…>
//
// It lists the tools, resources, resource templates and prompts; calls
// every tool with good arguments (from `good` below: a tool missing
// there is reported), with an unknown argument and, where the tool takes
// arguments, with one of the wrong type; reads every resource and the
// record template for each key in `recordKeys`; and gets every prompt.
// The SDK validates each structured result against the tool's output
// schema; a failed validation is reported as an error.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [bin, ...args] = process.argv.slice(2);

const good = {
  list_records: { pattern: "sensors.*" },
  get_record: { record_name: "cfg" },
  set_record: { record_name: "cfg", value: { level: 3 } },
  drain_record: { record_name: "cfg", limit: 5 },
  sample_subscription: { pattern: "sensors.*", count: 1, seconds: 2 },
  graph: { view: "nodes", format: "tree" },
  query_history: { pattern: "sensors.temp", since: "1754044860000" },
  health: { interval_ms: 50 },
  get_buffer_metrics: { pattern: "sensors.temp" },
  get_stage_profiling: {},
  reset_buffer_metrics: {},
  reset_stage_profiling: {},
  query_schema: { record_name: "cfg" },
  discover_instances: {},
  get_instance_info: {},
};
const wrongType = {
  list_records: { pattern: 1 },
  get_record: { record_name: ["cfg"] },
  set_record: { record_name: 2, value: 1 },
  drain_record: { record_name: "cfg", limit: "all" },
  sample_subscription: { pattern: "sensors.*", count: "ten" },
  graph: { view: false },
  query_history: { limit: "x" },
  health: { interval_ms: "soon" },
  get_buffer_metrics: { pattern: {} },
  get_stage_profiling: { pattern: 3 },
  query_schema: { record_name: null },
  get_instance_info: { endpoint: 7 },
};
const recordKeys = ["cfg", "sensors.humidity"];

const report = { tools: [], calls: {}, unknownArgument: {}, wrongType: {}, resources: {}, templates: [], prompts: {}, errors: [] };

function text(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("");
}

const transport = new StdioClientTransport({ command: bin, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "aimdb-ts-test", version: "0.0.0" });
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  report.tools = tools.map((t) => t.name).sort();
  for (const tool of tools) {
    if (!(tool.name in good)) {
      report.errors.push(`tool ${tool.name}: no good arguments in client.mjs`);
      continue;
    }
    if (tool.inputSchema.additionalProperties !== false) {
      report.errors.push(`tool ${tool.name}: input schema allows unknown arguments`);
    }
    try {
      const r = await client.callTool({ name: tool.name, arguments: good[tool.name] });
      report.calls[tool.name] = { isError: r.isError ?? false, structured: r.structuredContent ?? null, text: text(r) };
    } catch (e) {
      report.errors.push(`tool ${tool.name}: ${e.message}`);
    }
    for (const [bad, into] of [[{ ...good[tool.name], no_such_argument: 1 }, report.unknownArgument], [wrongType[tool.name], report.wrongType]]) {
      if (bad === undefined) continue;
      try {
        const r = await client.callTool({ name: tool.name, arguments: bad });
        into[tool.name] = { isError: r.isError ?? false, text: text(r) };
      } catch (e) {
        report.errors.push(`tool ${tool.name} with bad arguments: a protocol error, not a tool error: ${e.message}`);
      }
    }
  }

  const { resources } = await client.listResources();
  const uris = resources.map((r) => r.uri);
  const { resourceTemplates } = await client.listResourceTemplates();
  report.templates = resourceTemplates.map((t) => t.uriTemplate);
  for (const t of report.templates) {
    for (const key of recordKeys) uris.push(t.replace("{key}", key));
  }
  for (const uri of uris) {
    try {
      const r = await client.readResource({ uri });
      report.resources[uri] = { mimeType: r.contents[0].mimeType, json: JSON.parse(r.contents[0].text) };
    } catch (e) {
      report.errors.push(`resource ${uri}: ${e.message}`);
    }
  }

  const { prompts } = await client.listPrompts();
  for (const p of prompts) {
    const a = {};
    for (const arg of p.arguments ?? []) a[arg.name] = "calc.double";
    try {
      const r = await client.getPrompt({ name: p.name, arguments: a });
      report.prompts[p.name] = r.messages.map((m) => m.content.text).join("\n");
    } catch (e) {
      report.errors.push(`prompt ${p.name}: ${e.message}`);
    }
  }
} catch (e) {
  report.errors.push(`session: ${e.message}`);
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(report) + "\n");
