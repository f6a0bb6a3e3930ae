// Package reports renders the runs stored by reports/store for people and tools: the run
// list, one run with its trials, several runs side by side, and exports as markdown, JSON
// and CSV. The CLI's report commands and the terminal UI draw the same content from here.
package reports
