#!/usr/bin/env node
// Validates Kubernetes and KEDA manifests offline (no cluster), in three passes:
//  1. schema: each object through the validators of kubernetes-models and @kubernetes-models/keda,
//     which are compiled from the Kubernetes OpenAPI schema and KEDA's CRD schemas (types,
//     required fields, enums). They let unknown fields through, so:
//  2. strict: each object as a TypeScript literal typed with the same packages' generated
//     interfaces, checked by the TypeScript compiler, whose excess-property check rejects any
//     field the schema does not name ("replica", "authenticatoinRef"), at every depth;
//  3. policy: what this shop asks of its own manifests: secrets only through secretKeyRef (and no
//     Secret objects with values in the repository), liveness on /healthz and readiness on /readyz,
//     autoscalers, budgets and trigger authentications pointing at objects that exist.
// Usage: node tests/k8s/validate.mjs [DIR|FILE ...]   (default: deploy/k8s). Exits 1 on any problem.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// apiVersion/kind -> the model module and its interface.
const KINDS = {
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'Deployment', 'IDeployment'],
  'v1/Service': ['kubernetes-models/v1/Service', 'Service', 'IService'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'ConfigMap', 'IConfigMap'],
  'v1/ResourceQuota': ['kubernetes-models/v1/ResourceQuota', 'ResourceQuota', 'IResourceQuota'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'Secret', 'ISecret'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'PodDisruptionBudget', 'IPodDisruptionBudget'],
  'autoscaling/v2/HorizontalPodAutoscaler': [
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    'HorizontalPodAutoscaler',
    'IHorizontalPodAutoscaler',
  ],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'ScaledObject', 'IScaledObject'],
  'keda.sh/v1alpha1/TriggerAuthentication': [
    '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
    'TriggerAuthentication',
    'ITriggerAuthentication',
  ],
};

const SECRET_NAME = /(KEY|TOKEN|PASSWORD|SECRET|_URL$|SID$|DSN)/;

function yamlFiles(args) {
  const out = [];
  for (const arg of args) {
    const stat = fs.statSync(arg);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(arg, { recursive: true }).sort()) {
        const full = path.join(arg, entry);
        if (/\.ya?ml$/.test(entry) && fs.statSync(full).isFile()) out.push(full);
      }
    } else {
      out.push(arg);
    }
  }
  return out;
}

function load(files, problems) {
  const docs = [];
  for (const file of files) {
    let parsed;
    try {
      parsed = yaml.loadAll(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      problems.push(`${file}: not valid YAML: ${e.message.split('\n')[0]}`);
      continue;
    }
    parsed.forEach((object, index) => {
      if (object === null || object === undefined) return;
      const where = `${file} #${index + 1} ${object.kind || '?'}/${(object.metadata && object.metadata.name) || '?'}`;
      docs.push({ file, index, object, where });
    });
  }
  return docs;
}

function schemaPass(docs, problems) {
  for (const d of docs) {
    const key = `${d.object.apiVersion}/${d.object.kind}`;
    const known = KINDS[key];
    if (!known) {
      problems.push(`${d.where}: unknown apiVersion/kind ${key} (known: ${Object.keys(KINDS).join(', ')})`);
      continue;
    }
    d.kind = known;
    const Model = require(known[0])[known[1]];
    try {
      new Model(d.object).validate();
    } catch (e) {
      problems.push(`${d.where}: schema: ${e.message}`);
    }
  }
}

function strictPass(docs, problems) {
  const typed = docs.filter((d) => d.kind);
  if (!typed.length) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emporium-k8s-'));
  try {
    const file = path.join(dir, 'manifests.ts');
    const lines = [];
    const imports = new Set();
    const owner = []; // line -> doc
    for (const d of typed) imports.add(`import type { ${d.kind[2]} as ${d.kind[1]}Type } from '${d.kind[0]}';`);
    lines.push(...imports);
    typed.forEach((d, i) => {
      const body = JSON.stringify(d.object, null, 1).split('\n');
      const start = lines.length;
      lines.push(`export const doc${i}: ${d.kind[1]}Type = ${body[0]}`, ...body.slice(1));
      lines[lines.length - 1] += ';';
      for (let l = start; l < lines.length; l++) owner[l] = d;
    });
    fs.writeFileSync(file, lines.join('\n'));
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2020,
      typeRoots: [],
      baseUrl: here,
      paths: { '*': [path.join(here, 'node_modules', '*')] },
    });
    for (const diag of ts.getPreEmitDiagnostics(program)) {
      const text = ts.flattenDiagnosticMessageText(diag.messageText, ' ');
      if (!diag.file || diag.file.fileName !== file) {
        problems.push(`strict check could not run: ${text}`);
        continue;
      }
      const { line } = diag.file.getLineAndCharacterOfPosition(diag.start);
      const d = owner[line];
      problems.push(`${d ? d.where : file}: strict: ${text.replace(/ Did you mean.*$/, '').slice(0, 300)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function containersOf(object) {
  const spec = object.spec && object.spec.template && object.spec.template.spec;
  return spec ? [...(spec.initContainers || []), ...(spec.containers || [])] : [];
}

function matches(selector, labels) {
  const want = (selector && selector.matchLabels) || {};
  return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => labels && labels[k] === v);
}

function policyPass(docs, problems) {
  const byKind = (kind) => docs.filter((d) => d.object.kind === kind);
  const deployments = byKind('Deployment');
  const deploymentNamed = (name) => deployments.find((d) => d.object.metadata.name === name);
  for (const d of byKind('Secret')) {
    if (d.object.data || d.object.stringData) problems.push(`${d.where}: policy: a Secret with values does not belong in the repository`);
  }
  for (const d of deployments) {
    for (const c of containersOf(d.object)) {
      for (const e of c.env || []) {
        const fromSecret = e.valueFrom && e.valueFrom.secretKeyRef;
        if (SECRET_NAME.test(e.name) && !fromSecret) {
          problems.push(`${d.where}: policy: container ${c.name} sets ${e.name} without a secretKeyRef (secrets come from Secret objects)`);
        }
      }
      const probe = (p) => p && p.httpGet && p.httpGet.path;
      if (probe(c.livenessProbe) !== '/healthz') problems.push(`${d.where}: policy: container ${c.name} needs a liveness probe on /healthz`);
      if (probe(c.readinessProbe) !== '/readyz') problems.push(`${d.where}: policy: container ${c.name} needs a readiness probe on /readyz`);
      if (!c.resources || !c.resources.requests || !c.resources.limits) {
        problems.push(`${d.where}: policy: container ${c.name} needs resource requests and limits (autoscaling and cost)`);
      }
    }
  }
  for (const d of byKind('HorizontalPodAutoscaler')) {
    const ref = d.object.spec.scaleTargetRef || {};
    if (ref.kind !== 'Deployment' || !deploymentNamed(ref.name)) problems.push(`${d.where}: policy: scales ${ref.kind}/${ref.name}, which is not defined`);
    if (!(d.object.spec.maxReplicas > 0)) problems.push(`${d.where}: policy: needs maxReplicas (the cost cap)`);
  }
  for (const d of byKind('ScaledObject')) {
    const ref = d.object.spec.scaleTargetRef || {};
    if ((ref.kind || 'Deployment') !== 'Deployment' || !deploymentNamed(ref.name)) problems.push(`${d.where}: policy: scales ${ref.name}, which is not defined`);
    for (const t of d.object.spec.triggers || []) {
      const auth = t.authenticationRef && t.authenticationRef.name;
      if (t.type === 'rabbitmq' && (t.metadata.host || t.metadata.hostFromEnv)) {
        problems.push(`${d.where}: policy: the rabbitmq trigger must take its host from a TriggerAuthentication, not a plain value`);
      }
      if (auth && !byKind('TriggerAuthentication').some((a) => a.object.metadata.name === auth)) {
        problems.push(`${d.where}: policy: authenticationRef ${auth} is not defined`);
      }
    }
  }
  for (const d of byKind('PodDisruptionBudget')) {
    if (!deployments.some((dep) => matches(d.object.spec.selector, dep.object.spec.template.metadata.labels))) {
      problems.push(`${d.where}: policy: its selector matches no Deployment's pods`);
    }
  }
}

export function validate(paths) {
  const problems = [];
  const docs = load(yamlFiles(paths), problems);
  if (!docs.length) problems.push(`no manifest found in ${paths.join(', ')}`);
  schemaPass(docs, problems);
  strictPass(docs, problems);
  policyPass(docs, problems);
  return { docs, problems };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const { docs, problems } = validate(args.length ? args : [path.join(here, '..', '..', 'deploy', 'k8s')]);
  for (const d of docs) console.log(`checked ${d.where}`);
  for (const p of problems) console.error(`FAIL ${p}`);
  console.log(problems.length ? `${problems.length} problems in ${docs.length} objects` : `${docs.length} objects valid`);
  process.exit(problems.length ? 1 : 0);
}
