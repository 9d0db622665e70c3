import { describe, expect, it } from 'vitest';
import { BinaryMediaTypes } from '../../src/http/binary-media-types.js';

describe('BinaryMediaTypes', () => {
  describe('none (API Gateway without binaryMediaTypes)', () => {
    it('treats every request and response as text', () => {
      for (const types of [BinaryMediaTypes.NONE, new BinaryMediaTypes([])]) {
        expect(types.isBinaryRequest('application/octet-stream')).toBe(false);
        expect(types.isBinaryRequest(undefined)).toBe(false);
        expect(types.isBinaryResponse('image/png')).toBe(false);
        expect(types.isBinaryResponse(undefined)).toBe(false);
      }
    });
  });

  describe('requests: the Content-Type decides', () => {
    it('matches exact types, type/* and */*, without case or parameters', () => {
      const png = new BinaryMediaTypes(['image/png']);
      expect(png.isBinaryRequest('image/png')).toBe(true);
      expect(png.isBinaryRequest(' Image/PNG ; charset=binary')).toBe(true);
      expect(png.isBinaryRequest('image/gif')).toBe(false);
      const images = new BinaryMediaTypes(['IMAGE/*']);
      expect(images.isBinaryRequest('image/gif')).toBe(true);
      expect(images.isBinaryRequest('imagex/gif')).toBe(false);
      expect(images.isBinaryRequest('text/plain')).toBe(false);
      expect(new BinaryMediaTypes(['*/*']).isBinaryRequest('text/plain')).toBe(true);
    });

    it('reads a missing or empty Content-Type as application/json, as API Gateway does', () => {
      const json = new BinaryMediaTypes(['application/json']);
      expect(json.isBinaryRequest(undefined)).toBe(true);
      expect(json.isBinaryRequest('')).toBe(true);
      expect(new BinaryMediaTypes(['application/*']).isBinaryRequest(undefined)).toBe(true);
      expect(new BinaryMediaTypes(['image/*']).isBinaryRequest(undefined)).toBe(false);
    });
  });

  describe('responses: the first media type of Accept decides', () => {
    it('only the first media type counts', () => {
      const png = new BinaryMediaTypes(['image/png']);
      expect(png.isBinaryResponse('image/png, text/html')).toBe(true);
      expect(png.isBinaryResponse('image/png;q=0.5,text/html')).toBe(true);
      expect(png.isBinaryResponse('text/html, image/png')).toBe(false);
    });

    it('takes a wildcard in Accept literally: image/* is not image/png', () => {
      expect(new BinaryMediaTypes(['image/png']).isBinaryResponse('image/*')).toBe(false);
      expect(new BinaryMediaTypes(['image/*']).isBinaryResponse('image/*')).toBe(true);
      expect(new BinaryMediaTypes(['image/png']).isBinaryResponse('*/*')).toBe(false);
      expect(new BinaryMediaTypes(['*/*']).isBinaryResponse('*/*')).toBe(true);
    });

    it('without Accept (or an empty one) only */* matches', () => {
      expect(new BinaryMediaTypes(['image/png']).isBinaryResponse(undefined)).toBe(false);
      expect(new BinaryMediaTypes(['image/png']).isBinaryResponse('')).toBe(false);
      expect(new BinaryMediaTypes(['image/png', '*/*']).isBinaryResponse(undefined)).toBe(true);
      expect(new BinaryMediaTypes(['*/*']).isBinaryResponse(' ')).toBe(true);
    });
  });
});
