// Where a credential's secret goes, in words, for the CLI's `cred ls` and the app's Credentials
// screen alike (compiled into the renderer too): never the secret, shown as `…`.

/** A credential's injection as the CLI and the app receive it (main/core/credentials/injection.ts). */
export type InjectionShape =
  | { kind: 'header'; template: string }
  | { kind: 'query'; param: string }
  | { kind: 'basic'; user?: string };

export function describeInjection(injection: InjectionShape): string {
  switch (injection.kind) {
    case 'header': return injection.template.replace('{secret}', '…');
    case 'query': return `?${injection.param}=…`;
    case 'basic': return `Basic ${injection.user ?? '<user sent>'}:…`;
  }
}
