#!/usr/bin/env python3
"""Strict JSON schemas for kubeconform from CustomResourceDefinition YAML files.

    crd2jsonschema.py OUT_DIR CRD.yaml...

For every CRD and every served version with an openAPIV3Schema it writes
OUT_DIR/<group>/<kind>_<version>.json, lower case: the `{kind}_{version}` naming of kubeconform's
scripts/openapi2jsonschema.py, one directory per API group so that equal kinds of different groups
cannot collide. Use it with

    kubeconform -strict -schema-location 'OUT_DIR/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'

Differences from kubeconform's script, each to follow what the API server accepts:
- `additionalProperties: false` is added to every object schema that has `properties`, no
  `additionalProperties` and no `x-kubernetes-preserve-unknown-fields: true` (the root included),
  but not inside allOf/anyOf/oneOf/not: in a structural schema those only restate fields declared
  beside them, and closing them would reject the other fields.
- Versions with `served: false` are skipped (the API server rejects objects of such versions, and
  kubeconform then reports the schema as missing).
- `nullable: true` becomes a type list with "null"; `format: int-or-string` becomes
  oneOf string/integer (as kubeconform's script does).
Needs PyYAML. Writes files only when their content changes.
"""
import copy
import json
import os
import sys

import yaml

COMBINATORS = ("allOf", "anyOf", "oneOf", "not")


def strict(schema, in_combinator=False):
    """Return a copy of an OpenAPI v3 (structural) schema made strict, see the module doc."""
    if isinstance(schema, list):
        return [strict(s, in_combinator) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in COMBINATORS:
            out[key] = strict(value, True)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: strict(sub, in_combinator) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, (dict, list)):
            out[key] = strict(value, in_combinator)
        else:
            # enum, default, example, x-kubernetes-validations ... are data, not schemas.
            out[key] = copy.deepcopy(value)
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields", False)
        and not in_combinator
    ):
        out["additionalProperties"] = False
    if out.get("format") == "int-or-string":
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def crds_in(path):
    with open(path, encoding="utf-8") as f:
        for doc in yaml.safe_load_all(f):
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "CustomResourceDefinition":
                yield doc
            elif doc.get("kind", "").endswith("List"):
                for item in doc.get("items") or []:
                    if isinstance(item, dict) and item.get("kind") == "CustomResourceDefinition":
                        yield item


def schemas_of(crd):
    spec = crd["spec"]
    group = spec["group"]
    kind = spec["names"]["kind"]
    for version in spec.get("versions") or []:
        if version.get("served", True) is False:
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:  # apiextensions.k8s.io/v1beta1: one schema for all versions
            schema = (spec.get("validation") or {}).get("openAPIV3Schema")
        if schema is None:
            continue
        name = f"{kind}_{version['name']}".lower() + ".json"
        yield group.lower(), name, strict(schema)


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out_dir, files = argv[1], argv[2:]
    seen = {}
    written = 0
    for path in files:
        for crd in crds_in(path):
            for group, name, schema in schemas_of(crd):
                rel = os.path.join(group, name)
                if rel in seen:
                    raise SystemExit(f"crd2jsonschema: {rel} comes from both {seen[rel]} and {path}")
                seen[rel] = path
                os.makedirs(os.path.join(out_dir, group), exist_ok=True)
                text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
                written += write_if_changed(os.path.join(out_dir, rel), text)
    if not seen:
        raise SystemExit(f"crd2jsonschema: no CustomResourceDefinition with a schema in {files}")
    print(f"crd2jsonschema: {len(seen)} schemas in {out_dir} ({written} written)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
