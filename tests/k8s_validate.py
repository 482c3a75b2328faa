#!/usr/bin/python3
"""Checks every object of deploy/k8s against the Kubernetes API schemas, offline.

The schemas are those of Debian's python3-kubernetes: its model classes are generated from the
Kubernetes OpenAPI specification (each knows its fields' JSON names and types, and refuses a missing
required field). Every mapping in a manifest is walked against its model: an unknown field, a value
of the wrong type or a missing required field fails. Then the rules the deployment relies on are
checked (probes on /healthz and /readyz, non-root and read-only root filesystem, anti-affinity of
the coordinators, a PodDisruptionBudget per set, the drain's grace period, kustomization complete).

    usage: k8s_validate.py DIR     (exit 0: valid; 1: every problem printed)
"""
import datetime
import os
import re
import sys

import kubernetes.client as k8s
import yaml

problems = []


def fail(where, what):
    problems.append(f"{where}: {what}")


def model_of(api_version, kind):
    group, _, version = api_version.rpartition("/")
    name = version.capitalize() + kind
    cls = getattr(k8s, name, None)
    known = {"": "core", "apps": "apps", "policy": "policy", "batch": "batch", "networking.k8s.io": "networking"}
    if cls is None or group not in known:
        return None
    return cls


def check_value(where, type_name, value):
    """Checks value against an OpenAPI type name as the python client spells it."""
    if value is None:
        return
    if type_name == "str":
        if not isinstance(value, str):
            fail(where, f"expected a string, got {type(value).__name__} {value!r}")
    elif type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            fail(where, f"expected an integer, got {value!r}")
    elif type_name == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            fail(where, f"expected a number, got {value!r}")
    elif type_name == "bool":
        if not isinstance(value, bool):
            fail(where, f"expected a boolean, got {value!r}")
    elif type_name == "object":  # IntOrString, Quantity, free-form: a scalar or a mapping
        pass
    elif type_name == "datetime":
        if not isinstance(value, (str, datetime.datetime)):
            fail(where, f"expected a date-time, got {value!r}")
    elif type_name.startswith("list["):
        if not isinstance(value, list):
            fail(where, f"expected a list, got {value!r}")
            return
        inner = type_name[5:-1]
        for i, v in enumerate(value):
            check_value(f"{where}[{i}]", inner, v)
    elif type_name.startswith("dict("):
        if not isinstance(value, dict):
            fail(where, f"expected a mapping, got {value!r}")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for k, v in value.items():
            if not isinstance(k, str):
                fail(where, f"key {k!r} is not a string")
            check_value(f"{where}.{k}", inner, v)
    else:
        cls = getattr(k8s, type_name, None)
        if cls is None:
            fail(where, f"no model {type_name} in python3-kubernetes")
            return
        check_object(where, cls, value)


def check_object(where, cls, value):
    if not isinstance(value, dict):
        fail(where, f"expected a {cls.__name__} mapping, got {value!r}")
        return None
    python_name = {json: py for py, json in cls.attribute_map.items()}
    kwargs = {}
    for key, v in value.items():
        if key not in python_name:
            fail(f"{where}.{key}", f"unknown field of {cls.__name__}")
            continue
        py = python_name[key]
        check_value(f"{where}.{key}", cls.openapi_types[py], v)
        kwargs[py] = v
    try:  # the generated constructor refuses a missing required field
        cls(**kwargs)
    except (ValueError, TypeError) as e:
        fail(where, f"{cls.__name__}: {e}")
    return kwargs


def walk(node, path=()):
    """Every mapping in a document, with its path."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def deployment_rules(where, doc, pdb_selectors):
    kind = doc["kind"]
    spec = doc.get("spec", {})
    if kind == "PodDisruptionBudget":
        pdb_selectors.append(spec.get("selector", {}).get("matchLabels", {}))
        return
    if kind != "StatefulSet":
        return
    pod = spec["template"]["spec"]
    name = doc["metadata"]["name"]
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= 30:
        fail(where, f"terminationGracePeriodSeconds {grace}: must exceed the 30 s drain deadline")
    sc = pod.get("securityContext", {})
    if not sc.get("runAsNonRoot") or not sc.get("runAsUser"):
        fail(where, "the pod must run as a non-root user")
    for c in pod["containers"]:
        cw = f"{where} container {c.get('name', '?')}"
        if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
            fail(cw, "root filesystem must be read-only")
        live = c.get("livenessProbe", {}).get("httpGet", {}).get("path")
        ready = c.get("readinessProbe", {}).get("httpGet", {}).get("path")
        if live != "/healthz" or ready != "/readyz":
            fail(cw, f"probes must be GET /healthz (liveness) and /readyz (readiness), not {live} and {ready}")
        ports = {p.get("name") for p in c.get("ports", [])}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if port is not None and port not in ports:
                fail(cw, f"{probe} names port {port!r}, which the container does not declare")
    if name == "coordinator":
        if spec.get("replicas") != 2:
            fail(where, "the coordinators are a pair: replicas 2")
        terms = pod.get("affinity", {}).get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
        if not any(t.get("topologyKey") == "kubernetes.io/hostname" for t in terms):
            fail(where, "leader and vice must never share a machine (required anti-affinity on kubernetes.io/hostname)")
    return spec["selector"]["matchLabels"]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    files = sorted(f for f in os.listdir(root) if f.endswith(".yaml") and f != "kustomization.yaml")
    kustomization = yaml.safe_load(open(os.path.join(root, "kustomization.yaml")))
    listed = set(kustomization.get("resources", []))
    for f in files:
        if f not in listed:
            fail(f, "not listed in kustomization.yaml resources")
    for f in listed:
        if not os.path.exists(os.path.join(root, f)):
            fail("kustomization.yaml", f"lists {f}, which does not exist")
    objects = 0
    sets = {}
    pdb_selectors = []
    for f in files:
        with open(os.path.join(root, f)) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        for i, doc in enumerate(docs):
            where = f"{f}#{i}"
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                fail(where, "not a Kubernetes object (apiVersion and kind)")
                continue
            where = f"{f}: {doc['kind']} {doc.get('metadata', {}).get('name', '?')}"
            cls = model_of(doc["apiVersion"], doc["kind"])
            if cls is None:
                fail(where, f"no schema for {doc['apiVersion']} {doc['kind']}")
                continue
            check_object(where, cls, doc)
            objects += 1
            for path, m in walk(doc):
                for key in ("name",):
                    v = m.get(key)
                    if path and path[-1] == "metadata" and isinstance(v, str) and not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", v):
                        fail(where, f"metadata.name {v!r} is not a DNS label")
            selector = deployment_rules(where, doc, pdb_selectors)
            if selector is not None:
                sets[doc["metadata"]["name"]] = selector
    for name, selector in sets.items():
        if selector not in pdb_selectors:
            fail(name, "no PodDisruptionBudget selects this set")
    for p in problems:
        print("k8s:", p)
    print(f"k8s manifests: {objects} objects in {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
