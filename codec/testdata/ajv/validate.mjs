// Validates payloads against a JSON Schema document with ajv, for the
// codec package's TestJSONSchemaAjv. Reads one JSON object on stdin,
// {"schema": <document>, "cases": [{"def": "<name of a $defs entry>",
// "payload": "<JSON text>"}]}, and prints a JSON array with one boolean
// per case: whether ajv finds the payload valid.
import Ajv2020 from "ajv/dist/2020.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { schema, cases } = JSON.parse(input);
const ajv = new Ajv2020(); // strict by default: an unknown keyword is an error
ajv.addSchema(schema, "contracts");
const out = cases.map(({ def, payload }) => {
  const validate = ajv.getSchema("contracts#/$defs/" + def);
  if (!validate) throw new Error("no $defs entry " + def);
  return validate(JSON.parse(payload));
});
process.stdout.write(JSON.stringify(out));
