// Which Ingresses are ours: spec.ingressClassName (or the legacy annotation
// kubernetes.io/ingress.class) naming an IngressClass whose controller is
// k8ts.io/ingress; an Ingress with no class is ours unless another controller's
// class is the cluster default. Other classes are left alone.
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';

export const controllerName = 'k8ts.io/ingress';
export const defaultClassName = 'k8ts';
export const isDefaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';
const legacyClassAnnotation = 'kubernetes.io/ingress.class';

/** The IngressClass created at start when missing (marked default, as Traefik's in k3s). */
export function defaultIngressClass(): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: defaultClassName, annotations: { [isDefaultClassAnnotation]: 'true' }, labels: { 'app.kubernetes.io/managed-by': 'k8ts' } },
    spec: { controller: controllerName },
  };
}

export interface ClassView {
  ours: Set<string>;
  /** no class → ours */
  defaultIsOurs: boolean;
}

export function classView(classes: IngressClass[]): ClassView {
  const ours = new Set<string>();
  let ourDefault = false;
  let otherDefault = false;
  for (const c of classes) {
    const name = c.metadata?.name ?? '';
    const mine = c.spec?.controller === controllerName;
    if (mine) ours.add(name);
    if (c.metadata?.annotations?.[isDefaultClassAnnotation] === 'true') {
      if (mine) ourDefault = true;
      else otherDefault = true;
    }
  }
  return { ours, defaultIsOurs: ourDefault || !otherDefault };
}

export function isOurs(ing: Ingress, view: ClassView): boolean {
  const name = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[legacyClassAnnotation];
  if (name) return view.ours.has(name);
  return view.defaultIsOurs;
}
