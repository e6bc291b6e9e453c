/**
 * Dashboard variables. The datasource is itself a variable, so the JSON holds
 * no datasource uid and imports anywhere (grafana.com convention).
 */
import {
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { METRICS } from './metrics';

export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/**
 * A multi-select label variable whose "All" is the regex `.*`, so series that
 * appear after the dashboard loads (a new server, a new worker) are included.
 */
function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export function serviceVariable(): QueryVariableBuilder {
  return labelVariable('service', 'Service', `label_values(${METRICS.workerInfo}, service_name)`);
}

export function serverVariable(): QueryVariableBuilder {
  return labelVariable('server', 'Server', `label_values(${METRICS.workerInfo}{service_name=~"$service"}, server)`);
}

/** The host of per-worker series (`host`: the shim's WSGISCOPE_HOST or the machine's name). */
export function hostVariable(): QueryVariableBuilder {
  return labelVariable('host', 'Host', `label_values(${METRICS.workerInfo}{service_name=~"$service", server=~"$server"}, host)`);
}

export function workerVariable(): QueryVariableBuilder {
  return labelVariable(
    'worker',
    'Worker',
    `label_values(${METRICS.workerInfo}{service_name=~"$service", server=~"$server", host=~"$host"}, worker)`,
  );
}
