#!/usr/bin/env python3
"""Checks rendered deploy/ manifests without a cluster; scripts/validate-deploy runs it (see there).

    validate_deploy.py check --k8s 1.34,1.36 --overlay stage=FILE --overlay prod=FILE --argocd FILE
    validate_deploy.py self-test --k8s 1.34,1.36 --overlay prod=FILE --argocd FILE

Each FILE is the output of `kubectl kustomize` for that directory. Three layers of checks:

1. Schemas. Built-in kinds against kubernetes-validate's strict schemas (unknown fields refused) at
   every Kubernetes version given; custom resources against `openAPIV3Schema` of their CRD in
   deploy/schemas/, translated to JSON Schema the way the API server reads a structural schema
   (unknown fields refused unless x-kubernetes-preserve-unknown-fields, int-or-string, list-map
   keys unique, CEL rules evaluated after defaulting); Argo CD Applications against APPLICATION
   below, a hand-written schema of the fields deploy/argocd uses (no CRD copy is kept).
2. Admission rules no schema expresses: Knative's pod-spec field masks with its default feature
   flags, the secrets CloudNativePG generates (and a subset of its webhook: parameters it sets
   itself, image tag, requests, managed roles), resource names, object names and label values.
3. Argo CD ordering: sync waves Cluster < migration Job (a Sync hook) < service and CronJob, the
   hook Job bounded so that a failure fails the sync, one Application per overlay.

Exit 0 when everything passes, 1 on any failure (each printed on its own line), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import celpy
import jsonschema
import yaml
from jsonschema import validators
from kubernetes_validate import utils as kv
from kubernetes_validate.version import __version__ as KV_VERSION
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
SCHEMAS = DEPLOY / "schemas"
RUNBOOK = REPO / "docs" / "runbook.md"

WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
HOOK_DELETE = "argocd.argoproj.io/hook-delete-policy"

# Secrets that no manifest makes: the platform's secret store provides them (docs/runbook.md,
# "Roles and secrets"), with these keys. A reference to any other secret must resolve to a Secret
# in the render or to one CloudNativePG generates.
PROVIDED_SECRETS = {
    "torghut-db-owner": {"username", "password", "uri"},
    "torghut-db-app": {"username", "password", "uri"},
    "torghut-audit-signing-key": {"signing.key"},
    "torghut-db-backup-s3": {"ACCESS_KEY_ID", "ACCESS_SECRET_KEY"},
}

# The keys of the secrets CloudNativePG generates for a cluster named C.
CNPG_CREDENTIAL_KEYS = {
    "username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass",
    "fqdn-uri", "fqdn-jdbc-uri",
}


@dataclass
class Doc:
    overlay: str
    index: int  # 1-based, in the rendered stream
    body: dict
    source: str  # the file under deploy/ that declares it, when found

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", "?"))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", "?"))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", "?"))

    @property
    def label(self) -> str:
        return f"{self.source} (rendered document {self.index}, {self.kind} {self.name})"

    def annotations(self) -> dict:
        return (self.body.get("metadata") or {}).get("annotations") or {}


@dataclass
class Report:
    failures: list = field(default_factory=list)

    def fail(self, doc: Doc | None, path, message: str, overlay: str | None = None):
        where = doc.label if doc else ""
        where_overlay = overlay or (doc.overlay if doc else "?")
        p = fmt_path(path) if not isinstance(path, str) else path
        self.failures.append(f"{where_overlay}: {where}: {p or '(document)'}: {message}")


def fmt_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def get(obj, *path, default=None):
    for p in path:
        if isinstance(obj, dict) and p in obj:
            obj = obj[p]
        elif isinstance(obj, list) and isinstance(p, int) and 0 <= p < len(obj):
            obj = obj[p]
        else:
            return default
    return obj


# --------------------------------------------------------------------------------------------
# Loading


def source_index() -> dict:
    """(apiVersion, kind, name) -> the file under deploy/ declaring it (schemas/ left out)."""
    index = {}
    for path in sorted(DEPLOY.rglob("*.yaml")):
        if SCHEMAS in path.parents or path.name == "kustomization.yaml":
            continue
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        for d in docs:
            if isinstance(d, dict) and "kind" in d:
                key = (d.get("apiVersion"), d.get("kind"), get(d, "metadata", "name"))
                index.setdefault(key, str(path.relative_to(REPO)))
    return index


def load_rendered(overlay: str, path: Path, report: Report) -> list[Doc]:
    index = source_index()
    try:
        bodies = list(yaml.safe_load_all(path.read_text()))
    except yaml.YAMLError as e:
        report.fail(None, "", f"{path}: not YAML: {e}", overlay)
        return []
    docs = []
    for i, body in enumerate(bodies, 1):
        if body is None:
            continue
        if not isinstance(body, dict):
            report.fail(None, "", f"rendered document {i} is not a mapping", overlay)
            continue
        key = (body.get("apiVersion"), body.get("kind"), get(body, "metadata", "name"))
        docs.append(Doc(overlay, i, body, index.get(key, f"deploy/{overlay}")))
    return docs


# --------------------------------------------------------------------------------------------
# 1a. Built-in kinds: kubernetes-validate's strict schemas (additionalProperties: false)


class Builtin:
    def __init__(self, version: str):
        self.version = version
        have = [v for v in kv.all_versions() if kv.major_minor(v) == version]
        if not have:
            raise SystemExit(
                f"kubernetes-validate {KV_VERSION} has no schemas for Kubernetes {version} "
                f"(it has {', '.join(kv.major_minor(v) for v in kv.all_versions())})"
            )
        self.dir = f"kubernetes-json-schema/v{have[-1]}-local-strict"
        defs = kv.schema_contents(f"{self.dir}/_definitions.json", version)
        self.registry = Resource.from_contents(defs) @ Registry()
        self.cache: dict = {}
        meta = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://kubernetes.io/api/torghut-objectmeta",
            "$ref": "/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        }
        self.meta = jsonschema.Draft202012Validator(meta, registry=self.registry)

    def validator(self, api_version: str, kind: str):
        key = (api_version, kind)
        if key not in self.cache:
            group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            try:
                schema = kv.schema_contents(
                    f"{self.dir}/{kind.lower()}-{group_version}.json", self.version
                )
            except (FileNotFoundError, kv.VersionNotSupportedError):
                schema = None
            if schema is not None:
                registry = Resource.from_contents(schema) @ self.registry
                self.cache[key] = jsonschema.Draft202012Validator(schema, registry=registry)
            else:
                self.cache[key] = None
        return self.cache[key]


def check_builtin(doc: Doc, builtins: list[Builtin], report: Report) -> bool:
    """Validates a built-in kind at every version; False when no version knows the kind."""
    known = False
    seen = set()
    for b in builtins:
        v = b.validator(doc.api_version, doc.kind)
        if v is None:
            continue
        known = True
        for e in sorted(v.iter_errors(doc.body), key=lambda e: list(map(str, e.absolute_path))):
            msg = short(e)
            if (tuple(e.absolute_path), msg) in seen:
                continue
            seen.add((tuple(e.absolute_path), msg))
            report.fail(doc, list(e.absolute_path), f"{msg} [Kubernetes {b.version}]")
    return known


def short(e: jsonschema.ValidationError) -> str:
    """The most specific message: for oneOf/anyOf, the best of the branches' errors."""
    if e.context:
        best = jsonschema.exceptions.best_match(e.context)
        if best is not None and best.message != e.message:
            return f"{e.message}: {best.message}"
    return e.message


# --------------------------------------------------------------------------------------------
# 1b. Custom resources: the CRD's structural schema, read as the API server reads it


class CRDSchemaError(Exception):
    pass


# Keywords kept as they are: their meaning is the same in OpenAPI v3 and JSON Schema.
SAME = {
    "required", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems",
    "maxItems", "uniqueItems", "minProperties", "maxProperties", "multipleOf",
}
# Keywords without effect on validation here. `format` is not checked (the API server checks
# int32/int64/byte/date-time ranges and syntax; this script does not).
IGNORED = {"description", "default", "example", "externalDocs", "format", "title"}
IGNORED_EXT = {"x-kubernetes-map-type", "x-kubernetes-list-type"}


def translate(node: dict, where: str = "", junctor: bool = False) -> dict:
    """A structural-schema node -> JSON Schema (draft 2020-12).

    - unknown fields are refused (additionalProperties: false) on every object node that neither
      has x-kubernetes-preserve-unknown-fields nor an additionalProperties schema: the API server
      prunes them, and refuses them with strict field validation (kubectl's default). Nodes inside
      allOf/anyOf/oneOf/not (and below them) are left open: a structural schema only repeats
      value validations there, the fields themselves are declared outside;
    - x-kubernetes-int-or-string: an integer or a string;
    - nullable: null accepted too;
    - x-kubernetes-embedded-resource: apiVersion, kind and metadata implied;
    - x-kubernetes-list-type: map + x-kubernetes-list-map-keys: keys unique (keyword
      x-list-map-keys); x-kubernetes-list-type: set: items unique;
    - x-kubernetes-validations: CEL rules (keyword x-cel), transition rules (oldSelf) left out;
    - exclusiveMinimum/exclusiveMaximum: OpenAPI 3.0 booleans -> JSON Schema numbers.
    Any other keyword is an error: a newer CRD copy must not be half understood in silence.
    """
    if not isinstance(node, dict):
        raise CRDSchemaError(f"{where or '/'}: a schema node must be a mapping")
    out: dict = {}
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    for k, v in node.items():
        if k == "type":
            out["type"] = v
        elif k == "properties":
            out["properties"] = {p: translate(s, f"{where}.{p}", junctor) for p, s in v.items()}
        elif k == "additionalProperties":
            out[k] = v if isinstance(v, bool) else translate(v, f"{where}{{}}", junctor)
        elif k == "items":
            out[k] = translate(v, f"{where}[]", junctor)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [translate(s, f"{where}|{k}", junctor=True) for s in v]
        elif k == "not":
            out[k] = translate(v, f"{where}|not", junctor=True)
        elif k in SAME:
            out[k] = v
        elif k in ("exclusiveMinimum", "exclusiveMaximum"):
            pass  # below, with its bound
        elif k == "nullable" or k in IGNORED or k in IGNORED_EXT:
            pass
        elif k in ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
                   "x-kubernetes-embedded-resource"):
            pass
        elif k == "x-kubernetes-list-map-keys":
            out["x-list-map-keys"] = v
        elif k == "x-kubernetes-validations":
            rules = [r for r in v if "oldSelf" not in r.get("rule", "")]
            if rules:
                out["x-cel"] = rules
        else:
            raise CRDSchemaError(f"{where or '/'}: keyword {k} is not understood by this script")
    for k, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(k) is True and bound in out:
            out[k] = out.pop(bound)
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props["metadata"] = {"type": "object"}  # ObjectMeta: not described by the CRD
    if node.get("nullable"):
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        elif isinstance(t, list) and "null" not in t:
            out["type"] = t + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    is_object = out.get("type") == "object" or "properties" in out
    if is_object and not junctor and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def apply_defaults(value, node):
    """Fills in `default`s the way the API server does before validating (structural schemas)."""
    if not isinstance(node, dict):
        return
    if isinstance(value, dict):
        for p, s in (node.get("properties") or {}).items():
            if p not in value and isinstance(s, dict) and "default" in s:
                value[p] = copy.deepcopy(s["default"])
            if p in value:
                apply_defaults(value[p], s)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for p, v in value.items():
                if p not in (node.get("properties") or {}):
                    apply_defaults(v, extra)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for v in value:
            apply_defaults(v, node["items"])


_CEL_ENV = celpy.Environment()
_CEL_PROGRAMS: dict = {}


def cel_program(rule: str):
    if rule not in _CEL_PROGRAMS:
        _CEL_PROGRAMS[rule] = _CEL_ENV.program(_CEL_ENV.compile(rule))
    return _CEL_PROGRAMS[rule]


def _kw_list_map_keys(validator, keys, instance, schema):
    if not validator.is_type(instance, "array"):
        return
    seen: dict = {}
    for i, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        key = tuple(repr(item.get(k)) for k in keys)
        if key in seen:
            shown = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
            yield jsonschema.ValidationError(
                f"duplicate entry {shown} (also at index {seen[key]}): list keyed by {keys}",
                path=[i],
            )
        else:
            seen[key] = i


def _kw_cel(validator, rules, instance, schema):
    for r in rules:
        rule = r["rule"]
        try:
            result, error = cel_program(rule).evaluate({"self": celpy.json_to_cel(instance)}), None
        except Exception as e:  # an evaluation error is a refusal at the API server too
            result, error = None, e
        if error is None and isinstance(result, Exception):
            result, error = None, result
        if error is None and isinstance(result, celpy.celtypes.BoolType) and bool(result):
            continue
        msg = r.get("message") or f"failed rule: {rule}"
        if error is not None:
            msg = f"{msg} (rule `{rule}` could not be evaluated: {error})"
        where = f" at {r['fieldPath']}" if r.get("fieldPath") else ""
        yield jsonschema.ValidationError(f"{msg}{where}")


CRDValidator = validators.extend(
    jsonschema.Draft202012Validator,
    {"x-list-map-keys": _kw_list_map_keys, "x-cel": _kw_cel},
)


class CRDs:
    """The CRDs in deploy/schemas/: (group, kind) -> {version: (raw schema, validator)}."""

    def __init__(self, directory: Path):
        self.by_kind: dict = {}
        for path in sorted(directory.glob("*.yaml")):
            for crd in yaml.safe_load_all(path.read_text()):
                if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                versions = {}
                for v in spec["versions"]:
                    if not v.get("served", True):
                        continue
                    raw = get(v, "schema", "openAPIV3Schema")
                    if raw is None:
                        raise CRDSchemaError(f"{path.name}: version {v['name']} has no schema")
                    try:
                        js = translate(raw)
                    except CRDSchemaError as e:
                        raise CRDSchemaError(f"{path.name} {v['name']}: {e}") from None
                    # metadata is ObjectMeta, checked by Builtin.meta; the CRD only says `object`.
                    js.setdefault("properties", {})["metadata"] = {"type": "object"}
                    versions[v["name"]] = (raw, CRDValidator(js), path.name)
                self.by_kind[(spec["group"], spec["names"]["kind"])] = versions

    def lookup(self, api_version: str, kind: str):
        group, _, version = api_version.rpartition("/")
        versions = self.by_kind.get((group, kind))
        if versions is None:
            return None, None
        return versions.get(version), sorted(versions)


def check_custom(doc: Doc, crds: CRDs, builtins: list[Builtin], report: Report) -> bool:
    found, served = crds.lookup(doc.api_version, doc.kind)
    if served is None:
        return False
    if found is None:
        report.fail(doc, "apiVersion",
                    f"{doc.api_version} is not a served version of {doc.kind} "
                    f"(the CRD serves {', '.join(served)})")
        return True
    raw, validator, crd_file = found
    body = copy.deepcopy(doc.body)
    apply_defaults(body, raw)
    for e in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        report.fail(doc, list(e.absolute_path), f"{short(e)} [CRD deploy/schemas/{crd_file}]")
    meta = doc.body.get("metadata")
    seen = set()
    for b in builtins:
        for e in b.meta.iter_errors(meta if meta is not None else {}):
            if (tuple(e.absolute_path), e.message) in seen:
                continue
            seen.add((tuple(e.absolute_path), e.message))
            report.fail(doc, ["metadata", *e.absolute_path], f"{short(e)} [ObjectMeta, Kubernetes {b.version}]")
    return True


# --------------------------------------------------------------------------------------------
# 1b'. CloudNativePG ScheduledBackup: a hand-written schema of the fields deploy/ uses (no copy of
# its CRD is kept; a field outside this list is refused here and must be added, checked against
# CloudNativePG's API reference, before use), and the rules the operator applies.

SCHEDULED_BACKUP = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "postgresql.cnpg.io/v1"},
        "kind": {"const": "ScheduledBackup"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["schedule", "cluster"],
            "properties": {
                "schedule": {"type": "string", "minLength": 1},
                "immediate": {"type": "boolean"},
                "suspend": {"type": "boolean"},
                "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
                "method": {"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
                "target": {"enum": ["primary", "prefer-standby"]},
                "online": {"type": "boolean"},
                "cluster": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1}},
                },
            },
        },
    },
}

# A CloudNativePG schedule: six fields (seconds first), or a descriptor.
_CRON_FIELD = r"(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*"
CNPG_SCHEDULE = re.compile(rf"({_CRON_FIELD})( {_CRON_FIELD}){{5}}|@(yearly|annually|monthly|weekly|daily|midnight|hourly|every \S+)")


def check_scheduled_backups(docs: list[Doc], report: Report):
    """Schema; a six-field schedule (a five-field cron line would be read with seconds first and
    run at the wrong times, or be refused); the cluster exists in the render and has a backup
    section for the method (barmanObjectStore needs spec.backup.barmanObjectStore)."""
    validator = jsonschema.Draft202012Validator(SCHEDULED_BACKUP)
    clusters = {d.name: d for d in docs if (d.api_version, d.kind) == ("postgresql.cnpg.io/v1", "Cluster")}
    for d in docs:
        if (d.api_version, d.kind) != ("postgresql.cnpg.io/v1", "ScheduledBackup"):
            continue
        for e in sorted(validator.iter_errors(d.body), key=lambda e: list(map(str, e.absolute_path))):
            report.fail(d, list(e.absolute_path), f"{short(e)} [ScheduledBackup schema in validate_deploy.py]")
        spec = d.body.get("spec") or {}
        sched = spec.get("schedule")
        if isinstance(sched, str) and not CNPG_SCHEDULE.fullmatch(sched.strip()):
            n = len(sched.split())
            report.fail(d, "spec.schedule",
                        f"{sched!r}: CloudNativePG takes six fields, seconds first ({n} given)")
        name = get(spec, "cluster", "name")
        c = clusters.get(name)
        if c is None:
            report.fail(d, "spec.cluster.name", f"{name!r}: no Cluster of that name in the render")
            continue
        method = spec.get("method", "barmanObjectStore")
        if method == "barmanObjectStore" and not get(c.body, "spec", "backup", "barmanObjectStore"):
            report.fail(d, "spec.method",
                        f"barmanObjectStore: Cluster {name} has no spec.backup.barmanObjectStore "
                        "(every backup would fail)")
        if method == "volumeSnapshot" and not get(c.body, "spec", "backup", "volumeSnapshot"):
            report.fail(d, "spec.method", f"volumeSnapshot: Cluster {name} has no spec.backup.volumeSnapshot")


def check_cluster_backup(doc: Doc, report: Report):
    """The object store of a Cluster's backup section: a bucket URL (s3://, gs://, https:// for
    Azure), not the base's placeholder, and credentials given."""
    store = get(doc.body, "spec", "backup", "barmanObjectStore")
    if not isinstance(store, dict):
        return
    dest = store.get("destinationPath", "")
    where = ["spec", "backup", "barmanObjectStore", "destinationPath"]
    if not re.fullmatch(r"(s3|gs)://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?|https://\S+", str(dest)):
        report.fail(doc, where, f"{dest!r}: not an object store URL (s3://bucket/prefix, gs://, https://)")
    elif str(dest).rstrip("/").endswith("/unset"):
        report.fail(doc, where, f"{dest!r}: the base's placeholder; each overlay sets its own prefix")
    if not any(k in store for k in ("s3Credentials", "googleCredentials", "azureCredentials")):
        report.fail(doc, ["spec", "backup", "barmanObjectStore"], "no credentials for the object store")


# --------------------------------------------------------------------------------------------
# 1c. Argo CD Application: a hand-written schema of the fields deploy/argocd uses. There is no
# copy of Argo CD's CRD in deploy/schemas; a field outside this list is refused here and must be
# added (checked against Argo CD's documentation) before use.

_STR = {"type": "string", "minLength": 1}
_STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
APPLICATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"},
        "kind": {"const": "Application"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "namespace"],
            "properties": {
                "name": _STR, "namespace": _STR, "labels": _STRMAP, "annotations": _STRMAP,
                "finalizers": {"type": "array", "items": {"enum": [
                    "resources-finalizer.argocd.argoproj.io",
                    "resources-finalizer.argocd.argoproj.io/background",
                    "resources-finalizer.argocd.argoproj.io/foreground",
                ]}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["project", "source", "destination"],
            "properties": {
                "project": _STR,
                "revisionHistoryLimit": {"type": "integer", "minimum": 0},
                "source": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["repoURL", "path", "targetRevision"],
                    "properties": {"repoURL": _STR, "path": _STR, "targetRevision": _STR},
                },
                "destination": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["namespace"],
                    "oneOf": [{"required": ["server"]}, {"required": ["name"]}],
                    "properties": {"server": _STR, "name": _STR, "namespace": _STR},
                },
                "syncPolicy": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "automated": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "prune": {"type": "boolean"},
                                "selfHeal": {"type": "boolean"},
                                "allowEmpty": {"type": "boolean"},
                                "enabled": {"type": "boolean"},
                            },
                        },
                        "syncOptions": {
                            "type": "array",
                            "items": {"enum": [
                                "CreateNamespace=true", "PruneLast=true", "ApplyOutOfSyncOnly=true",
                                "ServerSideApply=true", "Validate=true", "FailOnSharedResource=true",
                                "PrunePropagationPolicy=foreground",
                                "PrunePropagationPolicy=background",
                            ]},
                        },
                        "retry": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "limit": {"type": "integer"},
                                "backoff": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "duration": _STR,
                                        "factor": {"type": "integer", "minimum": 1},
                                        "maxDuration": _STR,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def check_applications(apps: list[Doc], overlays: dict, report: Report):
    """Schema, then: each Application renders an existing overlay into that overlay's namespace,
    one Application per overlay, CreateNamespace on, and the prune/selfHeal policy of the
    runbook: automated for stage, by hand for prod."""
    validator = jsonschema.Draft202012Validator(APPLICATION)
    by_overlay: dict = {}
    for app in apps:
        if (app.api_version, app.kind) != ("argoproj.io/v1alpha1", "Application"):
            report.fail(app, "kind", f"{app.api_version} {app.kind}: only Applications belong here")
            continue
        errors = sorted(validator.iter_errors(app.body), key=lambda e: list(map(str, e.absolute_path)))
        for e in errors:
            report.fail(app, list(e.absolute_path), f"{short(e)} [hand-written Application schema]")
        if errors:
            continue
        spec = app.body["spec"]
        path = spec["source"]["path"].strip("/")
        m = re.fullmatch(r"deploy/overlays/([^/]+)", path)
        if not m or not (REPO / path / "kustomization.yaml").is_file():
            report.fail(app, "spec.source.path", f"{path}: not an overlay under deploy/overlays")
            continue
        overlay = m.group(1)
        by_overlay.setdefault(overlay, []).append(app)
        namespaces = {get(d.body, "metadata", "namespace") for d in overlays.get(overlay, [])}
        want = spec["destination"]["namespace"]
        if overlay in overlays and namespaces != {want}:
            report.fail(app, "spec.destination.namespace",
                        f"{want}, but {path} renders into {sorted(map(str, namespaces))}")
        if "CreateNamespace=true" not in (get(spec, "syncPolicy", "syncOptions") or []):
            report.fail(app, "spec.syncPolicy.syncOptions", "CreateNamespace=true is missing")
        automated = get(spec, "syncPolicy", "automated")
        if overlay == "prod" and automated is not None:
            report.fail(app, "spec.syncPolicy.automated",
                        "prod is synced by hand (docs/runbook.md): no automated sync")
        if overlay == "stage" and not (automated and automated.get("prune") and automated.get("selfHeal")):
            report.fail(app, "spec.syncPolicy.automated",
                        "stage syncs automatically with prune and selfHeal")
        if automated is not None and get(spec, "syncPolicy", "retry", "limit") is None:
            report.fail(app, "spec.syncPolicy.retry.limit",
                        "missing: an automated sync is otherwise retried by Argo CD's default "
                        "(5 times, each a new migration Job)")
        if app.body["metadata"].get("finalizers"):
            report.fail(app, "metadata.finalizers",
                        "a resources finalizer deletes the database with the Application")
    for overlay in overlays:
        n = len(by_overlay.get(overlay, []))
        if n != 1:
            report.fail(None, "", f"{n} Applications point at deploy/overlays/{overlay} (want 1)", "argocd")


# --------------------------------------------------------------------------------------------
# 2. Admission rules no schema expresses


def pod_spec_path(doc: Doc):
    if doc.kind == "CronJob":
        return ["spec", "jobTemplate", "spec", "template", "spec"]
    if doc.kind in ("Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet") or (
        doc.api_version == "serving.knative.dev/v1" and doc.kind == "Service"
    ):
        return ["spec", "template", "spec"]
    if doc.kind == "Pod":
        return ["spec"]
    return None


def containers(spec: dict, path: list):
    for field_name in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(field_name) or []):
            yield [*path, field_name, i], c


# Knative Serving's admission webhook (pkg/apis/serving/fieldmask.go and k8s_validation.go of
# knative/serving, main branch at the commit named in deploy/schemas/README.md) with the feature
# flags of config-features at their defaults (every kubernetes.podspec-* flag disabled except
# kubernetes.podspec-volumes-emptydir, secure-pod-defaults disabled, multi-container enabled).
KNATIVE_POD_FIELDS = {  # allowed with the default flags (PodSpecMask), plus the revision's own
    "serviceAccountName", "containers", "volumes", "imagePullSecrets", "enableServiceLinks",
    "automountServiceAccountToken",  # only `false`
    "containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds", "idleTimeoutSeconds",
}
KNATIVE_POD_FLAGS = {  # field -> the config-features flag that would allow it
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "tolerations": "kubernetes.podspec-tolerations",
    "securityContext": "kubernetes.podspec-securitycontext",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "initContainers": "kubernetes.podspec-init-containers",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
}
# With kubernetes.podspec-securitycontext enabled, the pod-level securityContext may hold these
# (PodSecurityContextMask); with it disabled (the default) it may hold nothing at all, so a
# seccompProfile belongs on the container.
KNATIVE_POD_SECURITY_FIELDS_WITH_FLAG = {
    "runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "supplementalGroups", "seccompProfile",
}
KNATIVE_CONTAINER_SECURITY_FIELDS = {  # SecurityContextMask
    "capabilities", "readOnlyRootFilesystem", "runAsUser", "runAsGroup", "runAsNonRoot",
    "allowPrivilegeEscalation", "seccompProfile", "privileged",  # privileged: only `false`
}
KNATIVE_VOLUME_SOURCES = {"secret", "configMap", "projected", "emptyDir"}
KNATIVE_RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
KNATIVE_RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}
KNATIVE_PORT_NAMES = {"", "h2c", "http1"}
KNATIVE_RESERVED_PATHS = {"/", "/dev", "/dev/log"}


def check_knative(doc: Doc, report: Report, flags: dict | None = None):
    flags = flags or {}
    base = ["spec", "template", "spec"]
    spec = get(doc.body, *base) or {}
    for k, v in spec.items():
        if k == "securityContext":
            continue  # below, field by field
        if k in KNATIVE_POD_FLAGS and not flags.get(KNATIVE_POD_FLAGS[k]):
            report.fail(doc, [*base, k],
                        f"refused by Knative's admission webhook: {k} needs the feature flag "
                        f"{KNATIVE_POD_FLAGS[k]} (disabled by default)")
        elif k not in KNATIVE_POD_FIELDS and k not in KNATIVE_POD_FLAGS:
            report.fail(doc, [*base, k], "not a field of a Knative revision's pod spec")
    if spec.get("automountServiceAccountToken") is True:
        report.fail(doc, [*base, "automountServiceAccountToken"],
                    "Knative accepts only `false` here")
    sc = spec.get("securityContext")
    if isinstance(sc, dict) and flags.get("kubernetes.podspec-securitycontext"):
        for k in sc:
            if k not in KNATIVE_POD_SECURITY_FIELDS_WITH_FLAG:
                report.fail(doc, [*base, "securityContext", k],
                            "refused by Knative's admission webhook: not allowed in a pod securityContext")
    elif sc is not None and not sc:
        report.fail(doc, [*base, "securityContext"],
                    "refused by Knative's admission webhook: kubernetes.podspec-securitycontext is "
                    "disabled (the default), even an empty pod-level securityContext is refused")
    elif isinstance(sc, dict):
        for k in sc:
            hint = " (set it on the container: container securityContext.seccompProfile is allowed)" \
                if k == "seccompProfile" else ""
            report.fail(doc, [*base, "securityContext", k],
                        "refused by Knative's admission webhook: with kubernetes.podspec-securitycontext "
                        f"disabled (the default) a pod-level securityContext may hold no field{hint}")
    ports = []
    for path, c in containers(spec, base):
        if c.get("name") == "queue-proxy":
            report.fail(doc, [*path, "name"], "queue-proxy is a reserved container name")
        csc = c.get("securityContext") or {}
        for k, v in csc.items():
            if k not in KNATIVE_CONTAINER_SECURITY_FIELDS:
                report.fail(doc, [*path, "securityContext", k],
                            "refused by Knative's admission webhook: not allowed in a container securityContext")
        if csc.get("privileged") is True:
            report.fail(doc, [*path, "securityContext", "privileged"], "Knative accepts only `false`")
        if get(csc, "capabilities", "add") and not flags.get("kubernetes.containerspec-addcapabilities"):
            report.fail(doc, [*path, "securityContext", "capabilities", "add"],
                        "needs the feature flag kubernetes.containerspec-addcapabilities")
        for i, e in enumerate(c.get("env") or []):
            if e.get("name") in KNATIVE_RESERVED_ENV:
                report.fail(doc, [*path, "env", i, "name"], f"{e['name']} is reserved by Knative")
            for ref in ("fieldRef", "resourceFieldRef"):
                if get(e, "valueFrom", ref) is not None and not flags.get("kubernetes.podspec-fieldref"):
                    report.fail(doc, [*path, "env", i, "valueFrom", ref],
                                "needs the feature flag kubernetes.podspec-fieldref")
        for i, m in enumerate(c.get("volumeMounts") or []):
            mp = str(m.get("mountPath", ""))
            if re.sub(r"/+$", "", mp) in {p.rstrip("/") for p in KNATIVE_RESERVED_PATHS} or mp == "/":
                report.fail(doc, [*path, "volumeMounts", i, "mountPath"], f"{mp} is reserved by Knative")
            if "mountPropagation" in m:
                report.fail(doc, [*path, "volumeMounts", i, "mountPropagation"],
                            "needs the feature flag kubernetes.podspec-volumes-mount-propagation")
        for i, p in enumerate(c.get("ports") or []):
            ports.append(([*path, "ports", i], p, c))
    if len(ports) > 1:
        report.fail(doc, ports[1][0], "Knative takes a single container port across all containers")
    for path, p, c in ports[:1]:
        if p.get("name", "") not in KNATIVE_PORT_NAMES:
            report.fail(doc, [*path, "name"], "a Knative port name is empty, h2c or http1")
        if p.get("containerPort") in KNATIVE_RESERVED_PORTS:
            report.fail(doc, [*path, "containerPort"], f"{p['containerPort']} is reserved by Knative")
        if p.get("protocol", "TCP") != "TCP":
            report.fail(doc, [*path, "protocol"], "Knative serves TCP only")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket"):
                port = get(c, probe, handler, "port")
                if isinstance(port, str) and port != p.get("name", "http"):
                    report.fail(doc, [*path[:-2], probe, handler, "port"],
                                "a probe's named port must be the container port's name")
    for i, v in enumerate(spec.get("volumes") or []):
        for k in v:
            if k != "name" and k not in KNATIVE_VOLUME_SOURCES:
                report.fail(doc, [*base, "volumes", i, k],
                            f"{k} volumes are refused by Knative with the default feature flags")


DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def check_names(doc: Doc, report: Report):
    """The API server's name and label syntax, and the length limits of the kinds used here."""
    name = doc.name
    if not DNS_SUBDOMAIN.fullmatch(name) or len(name) > 253:
        report.fail(doc, "metadata.name", f"{name!r} is not a DNS-1123 subdomain")
    limits = {"CronJob": 52, "Job": 63, "Cluster": 50}  # CronJob: 11 characters go to the Job suffix
    if doc.api_version == "serving.knative.dev/v1" and doc.kind == "Service":
        if not DNS_LABEL.fullmatch(name) or len(name) > 63:
            report.fail(doc, "metadata.name", "a Knative Service name is a DNS-1035 label of at most 63")
    elif doc.kind in limits and len(name) > limits[doc.kind]:
        report.fail(doc, "metadata.name", f"a {doc.kind} name has at most {limits[doc.kind]} characters")
    for where in (["metadata", "labels"], *[p[:-1] + ["metadata", "labels"] for p in [pod_spec_path(doc)] if p]):
        for k, v in (get(doc.body, *where) or {}).items():
            if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.fullmatch(v):
                report.fail(doc, [*where, k], f"{v!r} is not a valid label value")


_QUANTITY = re.compile(r"([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|e[0-9]+)?")
_FACTOR = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(value) -> float | None:
    """A Kubernetes quantity (2Gi, 500m, 1.5) as a number; None when it is not one."""
    m = _QUANTITY.fullmatch(str(value))
    if not m:
        return None
    unit = m.group(2)
    factor = 10 ** int(unit[1:]) if unit and unit.startswith("e") else _FACTOR[unit]
    return float(m.group(1)) * factor


def pg_memory(value: str) -> float | None:
    """A PostgreSQL memory setting (512MB, 8kB, a bare number of MB, as CloudNativePG reads it)."""
    m = re.fullmatch(r"([0-9]+)\s*(kB|MB|GB|TB|B)?", value.strip())
    if not m:
        return None
    return int(m.group(1)) * {None: 2**20, "B": 1, "kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}[m.group(2)]


STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


def check_resources(doc: Doc, report: Report):
    """Container resource names the API server accepts (a misspelt `memroy` is refused there,
    though every schema takes any key), and requests not above limits."""
    base = pod_spec_path(doc)
    if base is None:
        return
    for path, c in containers(get(doc.body, *base) or {}, base):
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for k, v in (res.get(part) or {}).items():
                if k not in STANDARD_RESOURCES and not k.startswith("hugepages-") and "/" not in k:
                    report.fail(doc, [*path, "resources", part, k], f"{k} is not a resource name")
                elif quantity(v) is None:
                    report.fail(doc, [*path, "resources", part, k], f"{v!r} is not a quantity")
        for k, req in (res.get("requests") or {}).items():
            lim = (res.get("limits") or {}).get(k)
            if lim is not None and quantity(req) is not None and quantity(lim) is not None \
                    and quantity(req) > quantity(lim):
                report.fail(doc, [*path, "resources", "requests", k], f"{req} is above the limit {lim}")


# CloudNativePG's admission webhook (internal/webhook/v1/cluster_webhook.go of cloudnative-pg at
# the commit named in deploy/schemas/README.md): the rules that concern the fields deploy/ uses.
CNPG_OPERATOR_PARAMETERS = {  # postgres.FixedConfigurationParameters: set by the operator only
    "allow_system_table_mods", "archive_mode", "bonjour", "bonjour_name", "cluster_name",
    "config_file", "data_directory", "data_sync_retry", "event_source", "external_pid_file",
    "hba_file", "hot_standby", "ident_file", "jit_provider", "listen_addresses",
    "logging_collector", "port", "primary_conninfo", "primary_slot_name", "recovery_target",
    "recovery_target_action", "recovery_target_inclusive", "recovery_target_lsn",
    "recovery_target_name", "recovery_target_time", "recovery_target_timeline",
    "recovery_target_xid", "restore_command", "shared_preload_libraries", "temp_tablespaces",
    "unix_socket_directories", "unix_socket_group", "unix_socket_permissions",
    "archive_cleanup_command", "archive_command", "log_destination", "log_directory",
    "log_file_mode", "log_filename", "log_rotation_age", "log_rotation_size",
    "log_truncate_on_rotation", "pg_failover_slots.primary_dsn",
    "pg_failover_slots.standby_slot_names", "promote_trigger_file", "recovery_end_command",
    "recovery_min_apply_delay", "restart_after_crash", "ssl", "ssl_ca_file", "ssl_cert_file",
    "ssl_crl_file", "ssl_dh_params_file", "ssl_key_file", "ssl_passphrase_command",
    "ssl_passphrase_command_supports_reload", "ssl_prefer_server_ciphers", "stats_temp_directory",
    "synchronous_standby_names", "synchronized_standby_slots", "syslog_facility", "syslog_ident",
    "syslog_sequence_numbers", "syslog_split_messages",
}
PG_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")


def check_cnpg(doc: Doc, report: Report):
    spec = doc.body.get("spec") or {}
    image = spec.get("imageName")
    if image:
        tail = image.split("@")[0].rsplit("/", 1)[-1]
        tag = tail.rsplit(":", 1)[1] if ":" in tail else ""
        if tag in ("", "latest"):
            report.fail(doc, "spec.imageName",
                        f"{image}: CloudNativePG needs a version tag (not latest, not a digest alone)")
        elif not re.match(r"[0-9]+(\.[0-9]+)*", tag):
            report.fail(doc, "spec.imageName", f"{image}: the tag is not a PostgreSQL version")
    for method in CNPG_BOOTSTRAP:
        b = get(spec, "bootstrap", method)
        if isinstance(b, dict) and bool(b.get("database")) != bool(b.get("owner")):
            report.fail(doc, ["spec", "bootstrap", method],
                        "database and owner are given together or not at all")
    params = get(spec, "postgresql", "parameters") or {}
    for k in params:
        if not PG_PARAMETER_NAME.fullmatch(k):
            report.fail(doc, ["spec", "postgresql", "parameters", k], "not a PostgreSQL parameter name")
        elif k in CNPG_OPERATOR_PARAMETERS:
            report.fail(doc, ["spec", "postgresql", "parameters", k],
                        "set by CloudNativePG itself: the webhook refuses it")
    res = spec.get("resources") or {}
    for k in ("cpu", "memory"):
        req, lim = get(res, "requests", k), get(res, "limits", k)
        if req is not None and lim is not None and (quantity(req) or 0) > (quantity(lim) or 0) > 0:
            report.fail(doc, ["spec", "resources", "requests", k], f"{req} is above the limit {lim}")
    sb, mem = params.get("shared_buffers"), get(res, "requests", "memory")
    if sb and mem and pg_memory(str(sb)) and quantity(mem) and pg_memory(str(sb)) > quantity(mem):
        report.fail(doc, "spec.resources.requests.memory",
                    f"{mem} is below shared_buffers ({sb})")
    names = set()
    for i, r in enumerate(get(spec, "managed", "roles") or []):
        n = r.get("name", "")
        if n in names:
            report.fail(doc, ["spec", "managed", "roles", i, "name"], f"role {n} is listed twice")
        names.add(n)
        if n in ("postgres", "streaming_replica") or n.startswith(("cnpg_", "pg_")):
            report.fail(doc, ["spec", "managed", "roles", i, "name"], f"role {n} is reserved")
        if r.get("disablePassword") and r.get("passwordSecret"):
            report.fail(doc, ["spec", "managed", "roles", i], "both sets and disables a password")
        if isinstance(r.get("connectionLimit"), int) and r["connectionLimit"] < -1:
            report.fail(doc, ["spec", "managed", "roles", i, "connectionLimit"], "below -1")


def secret_refs(doc: Doc):
    """(path, secret name, keys read or None for the whole secret) of a workload."""
    base = pod_spec_path(doc)
    if base is None:
        return
    spec = get(doc.body, *base) or {}
    for path, c in containers(spec, base):
        for i, e in enumerate(c.get("env") or []):
            ref = get(e, "valueFrom", "secretKeyRef")
            if ref and not ref.get("optional"):
                yield [*path, "env", i, "valueFrom", "secretKeyRef"], ref.get("name"), {ref.get("key")}
        for i, e in enumerate(c.get("envFrom") or []):
            ref = e.get("secretRef")
            if ref and not ref.get("optional"):
                yield [*path, "envFrom", i, "secretRef"], ref.get("name"), None
    for i, v in enumerate(spec.get("volumes") or []):
        s = v.get("secret")
        if s and not s.get("optional"):
            keys = {it.get("key") for it in s.get("items") or []} or None
            yield [*base, "volumes", i, "secret"], s.get("secretName"), keys
        for j, src in enumerate(get(v, "projected", "sources") or []):
            s = src.get("secret")
            if s and not s.get("optional"):
                keys = {it.get("key") for it in s.get("items") or []} or None
                yield [*base, "volumes", i, "projected", "sources", j, "secret"], s.get("name"), keys
    for i, s in enumerate(spec.get("imagePullSecrets") or []):
        yield [*base, "imagePullSecrets", i], s.get("name"), None


CNPG_BOOTSTRAP = ("initdb", "recovery", "pg_basebackup")


def cnpg_generated(cluster: dict) -> dict:
    """The secrets CloudNativePG generates for a cluster -> their keys."""
    name = get(cluster, "metadata", "name")
    spec = cluster.get("spec") or {}
    out = {f"{name}-replication": {"tls.crt", "tls.key"}}
    certs = spec.get("certificates") or {}
    if not certs.get("serverTLSSecret"):
        out[f"{name}-server"] = {"tls.crt", "tls.key"}
    if not (certs.get("serverCASecret") and certs.get("clientCASecret")):
        out[f"{name}-ca"] = {"ca.crt", "ca.key"}
    bootstrap = spec.get("bootstrap") or {"initdb": {}}
    method = next((m for m in CNPG_BOOTSTRAP if m in bootstrap), None)
    if method is not None and not get(bootstrap, method, "secret", "name"):
        out[f"{name}-app"] = set(CNPG_CREDENTIAL_KEYS)
    if spec.get("enableSuperuserAccess") and not get(spec, "superuserSecret", "name"):
        out[f"{name}-superuser"] = set(CNPG_CREDENTIAL_KEYS)
    return out


def check_secrets(docs: list[Doc], report: Report, provided: dict):
    """Every secret a workload or a cluster reads exists: a Secret in the render, one the
    operator generates, or one the platform provides (PROVIDED_SECRETS). CloudNativePG generates
    `<cluster>-app` only when the bootstrap section names no `secret`: with one named, a reference
    to `<cluster>-app` must be provided by the platform, and without one the platform must not
    provide a second `<cluster>-app`."""
    rendered = {d.name: set((d.body.get("data") or {}) | (d.body.get("stringData") or {}))
                for d in docs if (d.api_version, d.kind) == ("v1", "Secret")}
    generated: dict = {}
    clusters = [d for d in docs if (d.api_version, d.kind) == ("postgresql.cnpg.io/v1", "Cluster")]
    for c in clusters:
        gen = cnpg_generated(c.body)
        generated.update({k: (c, v) for k, v in gen.items()})
        for s in gen:
            if s in provided or s in rendered:
                method = next((m for m in CNPG_BOOTSTRAP if m in (get(c.body, "spec", "bootstrap") or {"initdb": 1})), "initdb")
                why = f" (spec.bootstrap.{method}.secret is not set)" if s.endswith("-app") else ""
                report.fail(c, "metadata.name",
                            f"the operator generates secret {s}{why}, and it is also provided "
                            f"{'by the platform' if s in provided else 'in the render'}: one name, two owners")
    refs = []
    for c in clusters:
        spec = c.body.get("spec") or {}
        for m in CNPG_BOOTSTRAP:
            n = get(spec, "bootstrap", m, "secret", "name")
            if n:
                refs.append((c, ["spec", "bootstrap", m, "secret", "name"], n, {"username", "password"}))
        for i, r in enumerate(get(spec, "managed", "roles") or []):
            n = get(r, "passwordSecret", "name")
            if n:
                refs.append((c, ["spec", "managed", "roles", i, "passwordSecret", "name"], n,
                             {"username", "password"}))
        n = get(spec, "superuserSecret", "name")
        if n:
            refs.append((c, ["spec", "superuserSecret", "name"], n, {"username", "password"}))
        for field_name in ("accessKeyId", "secretAccessKey", "region", "sessionToken"):
            ref = get(spec, "backup", "barmanObjectStore", "s3Credentials", field_name)
            if isinstance(ref, dict) and ref.get("name"):
                refs.append((c, ["spec", "backup", "barmanObjectStore", "s3Credentials", field_name],
                             ref["name"], {ref.get("key")}))
        owners = {}
        for _, path, n, _ in [r for r in refs if r[0] is c and "backup" not in r[1]]:
            if n in owners:
                report.fail(c, path, f"secret {n} would hold two roles' credentials (also {fmt_path(owners[n])})")
            owners[n] = path
    for d in docs:
        for path, n, keys in secret_refs(d):
            refs.append((d, path, n, keys))
    cluster_names = {c.name: c for c in clusters}
    for d, path, n, keys in refs:
        if n in rendered:
            have = rendered[n]
        elif n in generated:
            have = generated[n][1]
        elif n in provided:
            have = provided[n]
        else:
            owner = cluster_names.get(n.rsplit("-", 1)[0]) if "-" in n else None
            if owner is not None and n.endswith("-app"):
                method = next((m for m in CNPG_BOOTSTRAP if get(owner.body, "spec", "bootstrap", m, "secret", "name")), "initdb")
                named = get(owner.body, "spec", "bootstrap", method, "secret", "name")
                report.fail(d, path,
                            f"secret {n} does not exist: CloudNativePG generates it only when "
                            f"spec.bootstrap.{method}.secret is not set, and cluster {owner.name} "
                            f"sets it ({named}); unset it, or have the platform provide {n} "
                            f"(PROVIDED_SECRETS in scripts/validate_deploy.py, docs/runbook.md)")
            elif owner is not None and n.endswith("-superuser"):
                report.fail(d, path, f"secret {n} does not exist: cluster {owner.name} has "
                                     "enableSuperuserAccess off (or a superuserSecret of its own)")
            else:
                report.fail(d, path, f"secret {n} is neither in the render, generated by a cluster, "
                                     "nor provided by the platform (PROVIDED_SECRETS)")
            continue
        missing = sorted(k for k in (keys or set()) if k not in have)
        if missing:
            report.fail(d, path, f"secret {n} has no key {', '.join(missing)} (it has {', '.join(sorted(have))})")
        if d.kind != "Cluster" and n in generated and get(generated[n][0].body, "metadata", "namespace") != get(d.body, "metadata", "namespace"):
            report.fail(d, path, f"secret {n} is generated in another namespace")


# --------------------------------------------------------------------------------------------
# 3. Argo CD ordering


def wave_of(doc: Doc, report: Report):
    w = doc.annotations().get(WAVE)
    if w is None:
        report.fail(doc, f"metadata.annotations.{WAVE}",
                    "missing: every object names its sync wave (docs/runbook.md, the wave table)")
        return None
    if not re.fullmatch(r"-?[0-9]+", str(w)):
        report.fail(doc, f"metadata.annotations.{WAVE}", f"{w!r} is not an integer")
        return None
    return int(w)


def check_waves(docs: list[Doc], report: Report):
    """Argo CD applies wave after wave, each once the previous one is healthy, and stops at a
    failed hook: the cluster (wave 0) is healthy before the migration Job (wave 1, a Sync hook)
    runs, and the service and the CronJob (wave 2) are applied only after the Job succeeded."""
    waves = {id(d): wave_of(d, report) for d in docs}
    clusters = [d for d in docs if d.kind == "Cluster" and d.api_version.startswith("postgresql.cnpg.io/")]
    jobs = [d for d in docs if d.kind == "Job"]
    consumers = [d for d in docs if d.kind == "CronJob" or (d.kind, d.api_version) == ("Service", "serving.knative.dev/v1")]
    for d in docs:
        hook = d.annotations().get(HOOK)
        if hook is not None and d.kind != "Job":
            report.fail(d, f"metadata.annotations.{HOOK}", "only the migration Job is a hook")
    for j in jobs:
        a = j.annotations()
        hook = a.get(HOOK)
        if hook != "Sync":
            report.fail(j, f"metadata.annotations.{HOOK}",
                        f"{hook!r}: the migration Job is a Sync hook (a PreSync hook would run before "
                        "the cluster of wave 0 exists, a PostSync one after the service)")
        if a.get(HOOK_DELETE) != "BeforeHookCreation":
            report.fail(j, f"metadata.annotations.{HOOK_DELETE}",
                        f"{a.get(HOOK_DELETE)!r}: BeforeHookCreation alone keeps the last Job and its "
                        "logs (the plan) until the next sync")
        spec = j.body.get("spec") or {}
        bl = spec.get("backoffLimit")
        if not isinstance(bl, int) or not 0 <= bl <= 3:
            report.fail(j, "spec.backoffLimit",
                        f"{bl!r}: set it explicitly, 0..3 (a retry resumes an interrupted run; the "
                        "Job fails, and with it the sync, once they are spent)")
        if not isinstance(spec.get("activeDeadlineSeconds"), int):
            report.fail(j, "spec.activeDeadlineSeconds",
                        "missing: without a deadline a Job that never ends holds the sync forever")
        if "ttlSecondsAfterFinished" in spec:
            report.fail(j, "spec.ttlSecondsAfterFinished",
                        "a hook Job deleted by its TTL can vanish before Argo CD reads its result")
        if get(spec, "template", "spec", "restartPolicy") != "Never":
            report.fail(j, "spec.template.spec.restartPolicy", "Never: each retry is a new pod, counted by backoffLimit")

    def span(ds):
        ws = [waves[id(d)] for d in ds if waves[id(d)] is not None]
        return (min(ws), max(ws)) if ws else None

    order = [("cluster", clusters), ("migration Job", jobs), ("service and CronJob", consumers)]
    for (name_a, a), (name_b, b) in zip(order, order[1:]):
        sa, sb = span(a), span(b)
        if sa and sb and not sa[1] < sb[0]:
            late = [d for d in b if waves[id(d)] is not None and waves[id(d)] <= sa[1]]
            for d in late:
                report.fail(d, f"metadata.annotations.{WAVE}",
                            f"wave {waves[id(d)]}: the {name_b} must come after the {name_a} "
                            f"(wave {sa[1]}): cluster 0 -> migration Job 1 -> service and CronJob 2")
    if clusters and not jobs:
        report.fail(None, "", "no migration Job in the render", docs[0].overlay if docs else "?")


# --------------------------------------------------------------------------------------------
# Driver


def check_overlay(docs: list[Doc], crds: CRDs, builtins: list[Builtin], report: Report,
                  provided: dict | None = None, knative_flags: dict | None = None):
    provided = PROVIDED_SECRETS if provided is None else provided
    seen = set()
    for d in docs:
        key = (d.api_version, d.kind, d.name)
        if key in seen:
            report.fail(d, "metadata.name", "appears twice in the render")
        seen.add(key)
        if (d.api_version, d.kind) == ("postgresql.cnpg.io/v1", "ScheduledBackup"):
            check_names(d, report)
            continue  # check_scheduled_backups below
        if not check_custom(d, crds, builtins, report) and not check_builtin(d, builtins, report):
            report.fail(d, "apiVersion",
                        f"no schema for {d.api_version} {d.kind}: neither a built-in kind of "
                        f"Kubernetes {', '.join(b.version for b in builtins)} nor a CRD in deploy/schemas/")
            continue
        check_names(d, report)
        check_resources(d, report)
        if (d.api_version, d.kind) == ("serving.knative.dev/v1", "Service"):
            check_knative(d, report, knative_flags)
            for b in builtins[:1]:
                meta = get(d.body, "spec", "template", "metadata")
                for e in b.meta.iter_errors(meta if meta is not None else {}):
                    report.fail(d, ["spec", "template", "metadata", *e.absolute_path],
                                f"{short(e)} [ObjectMeta: Knative decodes the template strictly]")
        if (d.api_version, d.kind) == ("postgresql.cnpg.io/v1", "Cluster"):
            check_cnpg(d, report)
            check_cluster_backup(d, report)
    check_scheduled_backups(docs, report)
    check_secrets(docs, report, provided)
    check_waves(docs, report)


def run_check(overlay_files: dict, argocd_file: Path | None, report: Report, builtins, crds):
    rendered = {}
    for overlay, path in overlay_files.items():
        before = len(report.failures)
        docs = load_rendered(overlay, path, report)
        rendered[overlay] = docs
        if not docs:
            report.fail(None, "", "the render is empty", overlay)
            continue
        check_overlay(docs, crds, builtins, report)
        if len(report.failures) == before:
            kinds = ", ".join(f"{d.kind} {d.name}" for d in docs)
            ns = sorted({str(get(d.body, "metadata", "namespace")) for d in docs})
            print(f"{overlay}: ok, {len(docs)} documents in namespace {', '.join(ns)} ({kinds}); "
                  f"Kubernetes {', '.join(b.version for b in builtins)}, CRD schemas, Knative, "
                  "CloudNativePG and Argo CD rules")
    if argocd_file is not None:
        before = len(report.failures)
        apps = load_rendered("argocd", argocd_file, report)
        check_applications(apps, rendered, report)
        if len(report.failures) == before:
            targets = ", ".join(f"{a.name} -> {get(a.body, 'spec', 'source', 'path')}" for a in apps)
            print(f"argocd: ok, {len(apps)} Applications ({targets}); hand-written Application schema")
    return rendered


def check_runbook_names(report: Report):
    text = RUNBOOK.read_text() if RUNBOOK.exists() else ""
    for s in PROVIDED_SECRETS:
        if s not in text:
            report.fail(None, "", f"secret {s} is in PROVIDED_SECRETS but docs/runbook.md does not explain it",
                        "runbook")


def parse_overlays(values) -> dict:
    out = {}
    for v in values or []:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--overlay takes NAME=FILE, got {v!r}")
        out[name] = Path(path)
    return out


# --------------------------------------------------------------------------------------------
# Self-test: deliberately broken variants of the real prod render, each of which must be refused
# (with the expected words in one of its failure lines), and the real render must pass.


def _first(docs, kind, api=None):
    for d in docs:
        if d.kind == kind and (api is None or d.api_version == api):
            return d.body
    raise KeyError(kind)


def _ksvc(docs):
    return _first(docs, "Service", "serving.knative.dev/v1")


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _del(obj, path):
    for p in path[:-1]:
        obj = obj[p]
    del obj[path[-1]]


SELF_TESTS = [
    # (name, mutation of the overlay docs, expected words, {"provided": ...} options)
    ("five-field cron schedule in the ScheduledBackup",
     lambda ds: _set(_first(ds, "ScheduledBackup"), ["spec", "schedule"], "0 3 * * *"),
     "CloudNativePG takes six fields", {}),
    ("ScheduledBackup of a cluster not in the render",
     lambda ds: _set(_first(ds, "ScheduledBackup"), ["spec", "cluster", "name"], "torghut-dbx"),
     "no Cluster of that name", {}),
    ("ScheduledBackup with an unknown field",
     lambda ds: _set(_first(ds, "ScheduledBackup"), ["spec", "schedul"], "0 0 3 * * *"),
     "'schedul' was unexpected", {}),
    ("barmanObjectStore backups of a Cluster without a backup section",
     lambda ds: _first(ds, "Cluster")["spec"].pop("backup"),
     "has no spec.backup.barmanObjectStore", {}),
    ("the base's placeholder bucket prefix left in an overlay",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "backup", "barmanObjectStore", "destinationPath"],
                     "s3://torghut-db-backups/unset"),
     "the base's placeholder", {}),
    ("object store credentials from a secret the platform does not provide",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "backup", "barmanObjectStore", "s3Credentials",
                                             "accessKeyId", "name"], "torghut-db-backup-s4"),
     "torghut-db-backup-s4", {}),
    ("misspelt field in the Cluster's backup section (CRD schema)",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "backup", "barmanObjectStore", "wal", "compresion"], "gzip"),
     "'compresion' was unexpected", {}),
    ("pod-level seccompProfile in the Knative Service",
     lambda ds: _set(_ksvc(ds), ["spec", "template", "spec", "securityContext"],
                     {"seccompProfile": {"type": "RuntimeDefault"}}),
     "securityContext.seccompProfile: refused by Knative", {}),
    ("pod-level runAsUser in the Knative Service (flag disabled: no field at all)",
     lambda ds: _set(_ksvc(ds), ["spec", "template", "spec", "securityContext"], {"runAsUser": 65532}),
     "securityContext.runAsUser: refused by Knative", {}),
    ("initContainers in the Knative Service",
     lambda ds: _set(_ksvc(ds), ["spec", "template", "spec", "initContainers"],
                     [{"name": "x", "image": "busybox"}]),
     "kubernetes.podspec-init-containers", {}),
    ("privileged container in the Knative Service",
     lambda ds: _set(_ksvc(ds)["spec"]["template"]["spec"]["containers"][0]["securityContext"],
                     ["privileged"], True),
     "privileged: Knative accepts only `false`", {}),
    ("misspelt field in the Knative Service's container (CRD schema)",
     lambda ds: _set(_ksvc(ds)["spec"]["template"]["spec"]["containers"][0], ["imagePullPolicyy"], "Always"),
     "'imagePullPolicyy' was unexpected", {}),
    ("unknown field in the Cluster spec",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "instancess"], 3),
     "'instancess' was unexpected", {}),
    ("misspelt field deep in the Cluster spec",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "bootstrap", "initdb", "dataChecksum"], True),
     "'dataChecksum' was unexpected", {}),
    ("boolean where the Cluster takes an int-or-string quantity",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "resources", "requests", "cpu"], True),
     "spec.resources.requests.cpu: True is not of type 'integer', 'string'", {}),
    ("string where the Cluster takes an integer",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "instances"], "3"),
     "spec.instances: '3' is not of type 'integer'", {}),
    ("CEL rule of the Cluster CRD: imageName and imageCatalogRef together",
     lambda ds: _set(_first(ds, "Cluster"), ["spec", "imageCatalogRef"],
                     {"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog", "name": "pg", "major": 15}),
     "imageName and imageCatalogRef are mutually exclusive", {}),
    ("duplicate env name in the Knative Service (list-map keys)",
     lambda ds: _ksvc(ds)["spec"]["template"]["spec"]["containers"][0]["env"].append(
         {"name": "APP_ENV", "value": "prod"}),
     "duplicate entry name='APP_ENV'", {}),
    ("unknown field in the Knative revision template's metadata",
     lambda ds: _set(_ksvc(ds)["spec"]["template"]["metadata"], ["label"], {"a": "b"}),
     "'label' was unexpected", {}),
    ("parameter CloudNativePG sets itself",
     lambda ds: _set(_first(ds, "Cluster")["spec"]["postgresql"]["parameters"], ["port"], "5433"),
     "parameters.port: set by CloudNativePG itself", {}),
    ("shared_buffers above the Cluster's memory request",
     lambda ds: _set(_first(ds, "Cluster")["spec"]["postgresql"]["parameters"], ["shared_buffers"], "4GB"),
     "is below shared_buffers (4GB)", {}),
    ("Cluster image without a version tag",
     lambda ds: _set(_first(ds, "Cluster")["spec"], ["imageName"], "ghcr.io/cloudnative-pg/postgresql:latest"),
     "needs a version tag", {}),
    ("misspelt resource name in a container",
     lambda ds: _set(_first(ds, "Job")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"],
                     ["memroy"], "256Mi"),
     "memroy is not a resource name", {}),
    ("Job without template",
     lambda ds: _del(_first(ds, "Job"), ["spec", "template"]),
     "'template' is a required property", {}),
    ("misspelt field in the Job spec (strict built-in schema)",
     lambda ds: _set(_first(ds, "Job"), ["spec", "backofLimit"], 2),
     "'backofLimit' was unexpected", {}),
    ("misspelt field in the CronJob's container",
     lambda ds: _set(_first(ds, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0],
                     ["volumeMount"], []),
     "'volumeMount' was unexpected", {}),
    ("unknown apiVersion",
     lambda ds: _set(_ksvc(ds), ["apiVersion"], "serving.knative.dev/v2"),
     "not a served version of Service", {}),
    ("runtime secret not provided while bootstrap.initdb.secret is set",
     lambda ds: None,
     "CloudNativePG generates it only when spec.bootstrap.initdb.secret is not set",
     {"provided": {k: v for k, v in PROVIDED_SECRETS.items() if k != "torghut-db-app"}}),
    ("bootstrap.initdb.secret unset while the platform provides <cluster>-app",
     lambda ds: _del(_first(ds, "Cluster"), ["spec", "bootstrap", "initdb", "secret"]),
     "one name, two owners", {}),
    ("superuser secret read while enableSuperuserAccess is off",
     lambda ds: _set(_first(ds, "Job")["spec"]["template"]["spec"]["containers"][0]["env"][3]["valueFrom"]
                     ["secretKeyRef"], ["name"], "torghut-db-superuser"),
     "secret torghut-db-superuser does not exist", {}),
    ("key missing from a secret",
     lambda ds: _set(_ksvc(ds)["spec"]["template"]["spec"]["containers"][0]["env"][3]["valueFrom"]
                     ["secretKeyRef"], ["key"], "url"),
     "secret torghut-db-app has no key url", {}),
    ("CronJob in the migration Job's wave",
     lambda ds: _set(_first(ds, "CronJob")["metadata"]["annotations"], [WAVE], "1"),
     "must come after the migration Job", {}),
    ("Knative Service before the cluster",
     lambda ds: _set(_ksvc(ds)["metadata"]["annotations"], [WAVE], "0"),
     "must come after the migration Job", {}),
    ("migration Job as a PreSync hook",
     lambda ds: _set(_first(ds, "Job")["metadata"]["annotations"], [HOOK], "PreSync"),
     "the migration Job is a Sync hook", {}),
    ("migration Job without a deadline",
     lambda ds: _del(_first(ds, "Job"), ["spec", "activeDeadlineSeconds"]),
     "without a deadline", {}),
    ("migration Job without backoffLimit",
     lambda ds: _del(_first(ds, "Job"), ["spec", "backoffLimit"]),
     "spec.backoffLimit: None", {}),
    ("missing sync wave",
     lambda ds: _del(_first(ds, "Cluster")["metadata"]["annotations"], [WAVE]),
     "every object names its sync wave", {}),
    ("CronJob name too long",
     lambda ds: _set(_first(ds, "CronJob")["metadata"], ["name"], "x" * 53),
     "at most 52 characters", {}),
]

def _app(apps, overlay):
    for a in apps:
        if a.body["spec"]["source"]["path"].rstrip("/").endswith(f"/{overlay}"):
            return a.body
    raise KeyError(overlay)


APP_SELF_TESTS = [
    ("misspelt field in an Application",
     lambda apps: _set(_app(apps, "stage")["spec"]["syncPolicy"]["automated"], ["selfheal"], True),
     "'selfheal' was unexpected"),
    ("Application into the wrong namespace",
     lambda apps: _set(_app(apps, "stage")["spec"]["destination"], ["namespace"], "torghut"),
     "spec.destination.namespace: torghut, but deploy/overlays/stage renders into"),
    ("Application pointing at a missing overlay",
     lambda apps: _set(_app(apps, "prod")["spec"]["source"], ["path"], "deploy/overlays/qa"),
     "not an overlay under deploy/overlays"),
    ("prod Application with automated sync",
     lambda apps: _set(_app(apps, "prod")["spec"]["syncPolicy"], ["automated"], {"prune": True}),
     "prod is synced by hand"),
    ("stage Application without selfHeal",
     lambda apps: _del(_app(apps, "stage")["spec"]["syncPolicy"]["automated"], ["selfHeal"]),
     "stage syncs automatically with prune and selfHeal"),
    ("automated Application without an explicit retry limit",
     lambda apps: _del(_app(apps, "stage")["spec"]["syncPolicy"], ["retry"]),
     "retry.limit: missing"),
    ("Application without a destination",
     lambda apps: _del(_app(apps, "prod")["spec"], ["destination"]),
     "'destination' is a required property"),
]


def self_test(overlay_files, argocd_file, builtins, crds) -> int:
    if "prod" not in overlay_files or argocd_file is None:
        raise SystemExit("self-test needs --overlay prod=FILE and --argocd FILE")
    report = Report()
    base = load_rendered("prod", overlay_files["prod"], report)
    check_overlay(base, crds, builtins, report)
    if report.failures:
        print("self-test: the real prod render does not pass, fix it first:", *report.failures, sep="\n  ")
        return 1
    failed = 0
    for name, mutate, expect, opts in SELF_TESTS:
        docs = [Doc(d.overlay, d.index, copy.deepcopy(d.body), d.source) for d in base]
        mutate(docs)
        r = Report()
        check_overlay(docs, crds, builtins, r, provided=opts.get("provided"))
        hit = [f for f in r.failures if expect in f]
        if hit:
            print(f"refused as expected: {name}\n    {hit[0]}")
        else:
            failed += 1
            print(f"NOT REFUSED: {name} (expected a failure containing {expect!r}; got "
                  f"{r.failures or 'none'})")
    all_rendered = {"prod": base}
    for o, p in overlay_files.items():
        if o != "prod":
            all_rendered[o] = load_rendered(o, p, Report())
    apps_base = load_rendered("argocd", argocd_file, report)
    for name, mutate, expect in APP_SELF_TESTS:
        apps = [Doc(d.overlay, d.index, copy.deepcopy(d.body), d.source) for d in apps_base]
        mutate(apps)
        r = Report()
        check_applications(apps, all_rendered, r)
        hit = [f for f in r.failures if expect in f]
        if hit:
            print(f"refused as expected: {name}\n    {hit[0]}")
        else:
            failed += 1
            print(f"NOT REFUSED: {name} (expected {expect!r}; got {r.failures or 'none'})")
    total = len(SELF_TESTS) + len(APP_SELF_TESTS)
    print(f"self-test: {total - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["check", "self-test"])
    ap.add_argument("--k8s", required=True, help="Kubernetes minor versions, comma-separated")
    ap.add_argument("--overlay", action="append", help="NAME=FILE, a rendered overlay")
    ap.add_argument("--argocd", help="the rendered deploy/argocd")
    args = ap.parse_args(argv)
    overlay_files = parse_overlays(args.overlay)
    argocd_file = Path(args.argocd) if args.argocd else None
    builtins = [Builtin(v.strip()) for v in args.k8s.split(",") if v.strip()]
    try:
        crds = CRDs(SCHEMAS)
    except CRDSchemaError as e:
        print(f"deploy/schemas: {e}", file=sys.stderr)
        return 1
    if args.mode == "self-test":
        return self_test(overlay_files, argocd_file, builtins, crds)
    report = Report()
    check_runbook_names(report)
    run_check(overlay_files, argocd_file, report, builtins, crds)
    for f in report.failures:
        print(f"FAIL {f}")
    if report.failures:
        print(f"validate-deploy: {len(report.failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
