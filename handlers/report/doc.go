// Package report builds the bridge's indicator report (报告报表业务指标核查和数据校验) for a period of days in
// Asia/Shanghai: what was captured, stored, published and acknowledged per unit and table, the work orders by
// kind and status, the statutory time limits in working days, data-validation findings and reconciliation
// results; and renders it as text, JSON, CSV and a self-contained HTML page. It holds ids, codes, counts and
// times, never row content.
package report
