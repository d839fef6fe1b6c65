// Copies the dashboard page (HTML, CSS, browser JavaScript) beside its compiled controller.
import { cpSync } from 'node:fs';

cpSync('lib/dashboard/page', 'dist/dashboard/page', { recursive: true });
