#!/usr/bin/env node
import { createWarmrouteApp } from '../lib/warmroute-app.js';

// The CLI runs this file (cdk.json "app") with CDK_OUTDIR set; the App
// synthesizes into it when the process ends.
createWarmrouteApp();
