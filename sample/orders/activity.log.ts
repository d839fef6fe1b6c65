import { Injectable, Logger } from '@nestjs/common';

/** Collects what the listeners did, so the sample can print a summary at the end. */
@Injectable()
export class ActivityLog {
  private readonly logger = new Logger('Sample');
  readonly lines: string[] = [];

  add(line: string): void {
    this.lines.push(line);
    this.logger.log(line);
  }
}
